/**
 * Rendering a Vega-Lite spec to SVG in Node, with no browser and no canvas: compile to Vega, then
 * a headless View's toSVG().
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The SVG text of `spec`. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
