// The generated pages of repository files the site's pages link to (source files shown with
// their code, folders without a README listed): one route per link target, found by following
// every relative link of every page (see .vitepress/repo.ts).

import {
  collectGenerated,
  listingPageMarkdown,
  pageFiles,
  sourcePageMarkdown,
} from '../../.vitepress/repo.ts';

export default {
  paths() {
    const pages = pageFiles();
    const generated = collectGenerated(pages);
    const pageSet = new Set(pages);
    return [
      ...generated.sources.map((path) => ({
        params: { path },
        content: sourcePageMarkdown(path),
      })),
      ...generated.listings.map((dir) => ({
        params: { path: `${dir}/index` },
        content: listingPageMarkdown(dir, pageSet),
      })),
    ];
  },
};
