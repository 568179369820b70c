/**
 * The messages between the viewer page and its worker. Every request carries an id; the worker
 * answers it with one final message (or 'error'), after any number of 'progress' messages.
 */
import type { ExploreProgress, ExploreSummary, ImplId, ReplayView, ScenarioInfo } from './types.ts';

/**
 * Which run an exploration shows: its minimal violation; for a clean driver, the schedule that
 * breaks the scenario's failing driver (`from`), replayed on this one; else the run with no
 * preemption.
 */
export type ShownRun =
  | { readonly kind: 'minimal' }
  | { readonly kind: 'contrast'; readonly from: ImplId }
  | { readonly kind: 'default' };

/** Page → worker. */
export type ViewerRequest =
  | { readonly type: 'catalogue'; readonly id: number }
  | {
      readonly type: 'explore';
      readonly id: number;
      readonly scenario: string;
      readonly impl: string;
      readonly bound?: number | undefined;
    }
  | {
      readonly type: 'replay';
      readonly id: number;
      readonly scenario: string;
      readonly impl: string;
      readonly schedule: string;
    };

/** Worker → page. */
export type ViewerResponse =
  | { readonly type: 'catalogue'; readonly id: number; readonly catalogue: readonly ScenarioInfo[] }
  | { readonly type: 'progress'; readonly id: number; readonly progress: ExploreProgress }
  | {
      readonly type: 'explored';
      readonly id: number;
      readonly summary: ExploreSummary;
      /** The run to show (see `shown`), replayed with the state after every step. */
      readonly replay: ReplayView;
      readonly shown: ShownRun;
    }
  | { readonly type: 'replayed'; readonly id: number; readonly replay: ReplayView }
  | {
      readonly type: 'error';
      readonly id: number;
      /** 'ViewerInputError' for bad input (show the message), else an internal error. */
      readonly name: string;
      readonly message: string;
    };
