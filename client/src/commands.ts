// Command identifiers, declared once (package.json `contributes.commands` lists the same ids).
export const SHOW_LOG_COMMAND = 'layerLens.showLog';
export const REFRESH_COMMAND = 'layerLens.refresh';
export const BUILD_IMAGE_COMMAND = 'layerLens.buildImage';
