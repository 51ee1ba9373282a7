// Command identifiers, declared once (package.json `contributes.commands` lists the same ids).
export const SHOW_LOG_COMMAND = 'layerLens.showLog';
export const REFRESH_COMMAND = 'layerLens.refresh';
/** From a Dockerfile (editor title, code lens, palette): the image it produced. */
export const OPEN_EXPLORER_COMMAND = 'layerLens.openLayerExplorer';
/** Any local image, from a Quick Pick. */
export const OPEN_EXPLORER_FOR_IMAGE_COMMAND = 'layerLens.openLayerExplorerForImage';
export const BUILD_IMAGE_COMMAND = 'layerLens.buildImage';
