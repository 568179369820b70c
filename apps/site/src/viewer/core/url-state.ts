/**
 * The viewer's state in a link: `?scenario=munmap&impl=legacy&schedule=2x6.1&step=12`. A link
 * restores the scenario, the driver, the replayed schedule and the stepper position; without a
 * schedule the page explores and shows the minimal one. Decoding checks everything and says what
 * is wrong.
 */
import { parseSchedule, ScheduleSyntaxError } from '@hmmsim/explorer';
import { ViewerInputError } from './errors.ts';
import { IMPL_IDS, type ImplId, type ScenarioInfo, type ViewerState } from './types.ts';

/** The query parameters the viewer reads, in link order. */
export const VIEWER_PARAMS = ['scenario', 'impl', 'schedule', 'step'] as const;

/** Longest schedule string accepted from a link. */
const MAX_SCHEDULE_LENGTH = 2000;

/** The query string (without '?') of a viewer state. */
export function encodeViewerState(s: ViewerState): string {
  const p = new URLSearchParams();
  p.set('scenario', s.scenario);
  p.set('impl', s.impl);
  if (s.schedule !== undefined) p.set('schedule', s.schedule);
  if (s.step !== undefined) p.set('step', String(s.step));
  return p.toString();
}

/** A link to the viewer page at `pageUrl` (any existing query and hash replaced) showing `s`. */
export function viewerLink(pageUrl: string, s: ViewerState): string {
  const cut = pageUrl.search(/[?#]/);
  const base = cut < 0 ? pageUrl : pageUrl.slice(0, cut);
  return `${base}?${encodeViewerState(s)}`;
}

/** Check a schedule string from a link; ViewerInputError naming the bad token. */
function checkSchedule(text: string): string {
  if (text.length > MAX_SCHEDULE_LENGTH) {
    throw new ViewerInputError(
      `schedule is ${text.length} characters long; expected at most ${MAX_SCHEDULE_LENGTH}`,
    );
  }
  try {
    parseSchedule(text);
  } catch (error) {
    if (error instanceof ScheduleSyntaxError) throw new ViewerInputError(error.message);
    throw error;
  }
  return text.trim();
}

/**
 * The viewer state in a query string ('?scenario=…' or 'scenario=…'), or undefined when it has
 * none of the viewer's parameters. With `catalogue`, the scenario and driver must exist (a
 * missing driver means the scenario's first). Throws ViewerInputError saying what is wrong.
 */
export function decodeViewerState(
  query: string,
  catalogue?: readonly ScenarioInfo[],
): ViewerState | undefined {
  const p = new URLSearchParams(query.startsWith('?') ? query.slice(1) : query);
  if (!VIEWER_PARAMS.some((k) => p.has(k))) return undefined;
  for (const k of VIEWER_PARAMS) {
    if (p.getAll(k).length > 1) throw new ViewerInputError(`the link gives '${k}' more than once`);
  }
  const scenario = p.get('scenario');
  if (scenario === null || scenario === '') {
    throw new ViewerInputError(
      "the link has no 'scenario'; expected e.g. '?scenario=munmap&impl=legacy'",
    );
  }
  const info = catalogue?.find((s) => s.id === scenario);
  if (catalogue !== undefined && info === undefined) {
    throw new ViewerInputError(
      `unknown scenario '${scenario}'; expected one of ${catalogue.map((s) => `'${s.id}'`).join(', ')}`,
    );
  }
  const implText = p.get('impl') ?? info?.impls[0]?.id;
  if (implText === undefined || implText === '') {
    throw new ViewerInputError("the link has no 'impl'; expected legacy, shim or interval");
  }
  if (!(IMPL_IDS as readonly string[]).includes(implText)) {
    throw new ViewerInputError(
      `unknown driver '${implText}'; expected one of ${IMPL_IDS.map((x) => `'${x}'`).join(', ')}`,
    );
  }
  const impl = implText as ImplId;
  if (info !== undefined && !info.impls.some((i) => i.id === impl)) {
    throw new ViewerInputError(
      `scenario '${scenario}' has no driver '${impl}'; expected one of ${info.impls.map((i) => `'${i.id}'`).join(', ')}`,
    );
  }
  const scheduleText = p.get('schedule');
  const schedule = scheduleText === null ? undefined : checkSchedule(scheduleText);
  const stepText = p.get('step');
  let step: number | undefined;
  if (stepText !== null) {
    if (!/^(0|[1-9][0-9]{0,6})$/.test(stepText)) {
      throw new ViewerInputError(
        `step '${stepText}': expected a whole number (0 = before the run)`,
      );
    }
    step = Number(stepText);
  }
  return { scenario, impl, schedule, step };
}
