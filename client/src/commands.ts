// Command identifiers, declared once (package.json `contributes.commands` lists the same ids).
export const SHOW_LOG_COMMAND = 'layerLens.showLog';
export const REFRESH_COMMAND = 'layerLens.refresh';
/** From a Dockerfile (editor title, code lens, palette): the image it produced. */
export const OPEN_EXPLORER_COMMAND = 'layerLens.openLayerExplorer';
/** Any local image, from a Quick Pick. */
export const OPEN_EXPLORER_FOR_IMAGE_COMMAND = 'layerLens.openLayerExplorerForImage';
export const BUILD_IMAGE_COMMAND = 'layerLens.buildImage';

/**
 * Context key, true in Restricted Mode: hides and disables "Build Image" in the palette. The palette evaluates
 * `when` and `enablement` in the active editor's scoped context, where VS Code 1.139 (code-server 4.139) sometimes
 * reads `isWorkspaceTrusted` as false in a trusted folder until the editor is clicked (configuration keys in the
 * same context read right): the command was missing in 6 of 38 fresh workbenches. A key of our own, set on
 * activation, reads right there (0 of 16). Before activation it is unset, so the palette may offer the command in
 * Restricted Mode; the command itself then refuses to build.
 */
export const RESTRICTED_CONTEXT_KEY = 'layerLens.restricted';
