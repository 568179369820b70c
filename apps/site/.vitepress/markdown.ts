// markdown-it additions: repository links mapped to the site, Mermaid blocks as diagrams, and
// GitHub's heading anchors (so `README.md#check-your-own-code` works on GitHub and here alike).

import { relative } from 'node:path';
import type { MarkdownRenderer } from 'vitepress';
import { repoRoot, resolveRepoLink } from './repo.ts';

/** Environment VitePress passes to markdown-it for a page. */
interface PageEnv {
  readonly path?: string;
  readonly realPath?: string;
}

/**
 * GitHub's heading anchors: lower case, punctuation removed, each space a hyphen (markdown-it
 * anchor then numbers repeated headings `-1`, `-2`, as GitHub does).
 */
export function githubSlug(text: string): string {
  return text
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/**
 * Rewrites every relative link of a page to where its target is served in the site (see
 * resolveRepoLink); links into the API reference get `target="_self"`, so the browser loads
 * TypeDoc's pages instead of the VitePress router looking for a page of its own.
 */
export function repoLinksPlugin(md: MarkdownRenderer, pages: ReadonlySet<string>): void {
  md.core.ruler.push('hmmsim_repo_links', (state) => {
    const env = state.env as PageEnv;
    const file = env.realPath ?? env.path;
    if (!file) return;
    const from = relative(repoRoot, file).split('\\').join('/');
    for (const block of state.tokens) {
      for (const token of block.children ?? []) {
        if (token.type !== 'link_open') continue;
        const href = token.attrGet('href');
        if (href === null) continue;
        const link = resolveRepoLink(from, href, pages);
        if (!link) continue;
        token.attrSet('href', link.href);
        if (link.kind === 'api') token.attrSet('target', '_self');
      }
    }
  });
}

/**
 * Renders ```mermaid blocks as <MermaidDiagram>, which draws the diagram in the browser (mermaid
 * is loaded only on pages that have one) and keeps the diagram's source readable below it.
 */
export function mermaidPlugin(md: MarkdownRenderer): void {
  const fence = md.renderer.rules.fence;
  if (!fence) throw new Error('mermaidPlugin: VitePress registers a fence renderer first');
  md.renderer.rules.fence = (tokens, idx, options, env, self) => {
    const token = tokens[idx];
    if (token && token.info.trim() === 'mermaid') {
      return `<MermaidDiagram code="${encodeURIComponent(token.content)}" />\n`;
    }
    return fence(tokens, idx, options, env, self);
  };
}
