// <MermaidDiagram code="…">: a ```mermaid block of a page, drawn in the browser. The server
// render (and a browser without JavaScript) shows the diagram's source; once mounted, mermaid is
// loaded and draws it, again when the colour scheme changes. The source stays available under
// the drawing.
//
// mermaid is not bundled: the site serves the package's own prebuilt ES modules under
// /vendor/mermaid/ (see MERMAID_FILES in config.ts), which only pages with a diagram fetch —
// bundling its 200 modules would more than double the site's build time.

import { useData, withBase } from 'vitepress';
import { defineComponent, h, onMounted, ref, watch } from 'vue';

/** Where the site serves mermaid's prebuilt entry module. */
export const MERMAID_ENTRY = '/vendor/mermaid/mermaid.esm.min.mjs';

type Mermaid = typeof import('mermaid');

let loading: Promise<Mermaid> | undefined;

/** Loads mermaid once per page load. */
function loadMermaid(): Promise<Mermaid> {
  loading ??= import(/* @vite-ignore */ withBase(MERMAID_ENTRY)) as Promise<Mermaid>;
  return loading;
}

let diagrams = 0;

/** The component registered globally as MermaidDiagram (see theme/index.ts). */
export const MermaidDiagram = defineComponent({
  name: 'MermaidDiagram',
  props: {
    /** The diagram's Mermaid source, URI-encoded (so it survives as an attribute). */
    code: { type: String, required: true },
  },
  setup(props) {
    const { isDark } = useData();
    const svg = ref('');
    const failure = ref('');
    const id = `mermaid-diagram-${++diagrams}`;
    let renders = 0;

    async function draw(): Promise<void> {
      const mine = ++renders;
      try {
        const { default: mermaid } = await loadMermaid();
        mermaid.initialize({
          startOnLoad: false,
          securityLevel: 'strict',
          theme: isDark.value ? 'dark' : 'default',
          sequence: { useMaxWidth: false },
        });
        const out = await mermaid.render(`${id}-${mine}`, decodeURIComponent(props.code));
        if (mine === renders) svg.value = out.svg;
      } catch (err) {
        failure.value = `The diagram could not be drawn: ${err instanceof Error ? err.message : String(err)}`;
      }
    }

    onMounted(() => {
      void draw();
    });
    watch(isDark, () => {
      void draw();
    });

    return () => {
      const source = decodeURIComponent(props.code);
      if (!svg.value) {
        return h('figure', { class: 'mermaid-diagram' }, [
          failure.value ? h('p', { class: 'mermaid-failure', role: 'alert' }, failure.value) : null,
          h('pre', { class: 'mermaid-source' }, h('code', source)),
        ]);
      }
      return h('figure', { class: 'mermaid-diagram' }, [
        // Wide diagrams scroll sideways; the region is focusable so the keyboard can scroll it.
        h('div', {
          class: 'mermaid-drawing',
          tabindex: 0,
          role: 'region',
          'aria-label': 'Diagram (scrolls sideways)',
          innerHTML: svg.value,
        }),
        h('details', { class: 'mermaid-details' }, [
          h('summary', 'Diagram source (Mermaid)'),
          h('pre', { class: 'mermaid-source' }, h('code', source)),
        ]),
      ]);
    };
  },
});
