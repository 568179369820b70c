/**
 * An augmented red-black interval tree over closed intervals `[start, last]`, stored as a
 * struct of typed arrays (one slot per node, slot 0 is the black NIL sentinel).
 *
 * Nodes are ordered by `start`; equal starts keep insertion order (a new node goes to the right
 * of equal keys, so it is visited later). Every node also stores the largest `last` of its
 * subtree, which lets a query skip whole subtrees: finding the first overlap is O(log n) and each
 * further overlap O(log n) amortised, so visiting k overlaps costs O(log n + k).
 *
 * Endpoints are plain numbers (safe integers up to 2^53 - 1 are exact in a Float64Array); no
 * bitwise operation ever touches them.
 *
 * Every public read of the tree reports `noteRead(tree)`, insert/remove `noteWrite(tree)` (the
 * whole tree as one object, for the explorer's partial-order reduction); checkStructure() (the
 * invariant check) reports nothing.
 *
 * Mirrors include/linux/interval_tree_generic.h (INTERVAL_TREE_DEFINE) and lib/rbtree.c as used
 * by mm/mmu_notifier.c for `mmn_mm->itree`.
 */
import {
  accessReporting,
  checkUlong,
  InvalidArgumentError,
  isUlong,
  noteRead,
  noteWrite,
} from '@hmmsim/kernel';

/**
 * The "no node" id (the NIL sentinel slot).
 * Mirrors include/linux/rbtree.h:RB_EMPTY_NODE() (an unlinked node).
 */
export const IT_NIL = 0;

const INITIAL_CAPACITY = 16;

/**
 * An interval tree whose nodes carry a payload of type `T`. Node ids are small positive integers,
 * valid from insert() until remove(); `IT_NIL` (0) means "none".
 * Mirrors include/linux/interval_tree_generic.h:INTERVAL_TREE_DEFINE() (insert/remove/iter_first/iter_next).
 */
export class IntervalTree<T> {
  /** Interval start of each slot. */
  private startA = new Float64Array(INITIAL_CAPACITY);
  /** Interval last (inclusive end) of each slot. */
  private lastA = new Float64Array(INITIAL_CAPACITY);
  /** Largest `last` in the subtree rooted at each slot (-1 for NIL). */
  private maxA = new Float64Array(INITIAL_CAPACITY);
  private leftA = new Int32Array(INITIAL_CAPACITY);
  private rightA = new Int32Array(INITIAL_CAPACITY);
  private parentA = new Int32Array(INITIAL_CAPACITY);
  /** 1 = red, 0 = black. */
  private redA = new Uint8Array(INITIAL_CAPACITY);
  private payloadA: (T | undefined)[] = [undefined];
  /** Slots freed by remove(), reused first. */
  private freeSlots: number[] = [];
  /** Next never-used slot. */
  private top = 1;
  private rootId = IT_NIL;
  private count = 0;

  constructor() {
    this.maxA[IT_NIL] = -1;
  }

  /** Number of linked nodes. */
  get size(): number {
    if (accessReporting) noteRead(this);
    return this.count;
  }

  /** Root node id (IT_NIL when empty). */
  get root(): number {
    if (accessReporting) noteRead(this);
    return this.rootId;
  }

  /** Start of node `id`. */
  start(id: number): number {
    if (accessReporting) noteRead(this);
    return this.startA[id] as number;
  }

  /** Inclusive last address of node `id`. */
  last(id: number): number {
    if (accessReporting) noteRead(this);
    return this.lastA[id] as number;
  }

  /** Payload of node `id` (throws for a free slot). */
  payload(id: number): T {
    if (accessReporting) noteRead(this);
    const p = this.payloadA[id];
    if (id === IT_NIL || p === undefined) {
      throw new InvalidArgumentError(`IntervalTree.payload(${id}): not a linked node id`);
    }
    return p;
  }

  /**
   * Link a new node for the closed interval `[start, last]`; returns its id.
   * Mirrors include/linux/interval_tree_generic.h:ITPREFIX_insert().
   */
  insert(start: number, last: number, payload: T): number {
    checkUlong('IntervalTree.insert', 'start', start, 'an interval start');
    checkUlong('IntervalTree.insert', 'last', last, 'an inclusive interval end');
    if (last < start) {
      throw new InvalidArgumentError(
        `IntervalTree.insert: [${start}, ${last}] has last < start; expected 0 <= start <= last`,
      );
    }
    if (accessReporting) noteWrite(this);
    const z = this.allocSlot();
    this.startA[z] = start;
    this.lastA[z] = last;
    this.maxA[z] = last;
    this.leftA[z] = IT_NIL;
    this.rightA[z] = IT_NIL;
    this.redA[z] = 1;
    this.payloadA[z] = payload;
    const startA = this.startA;
    const maxA = this.maxA;
    let y = IT_NIL;
    let x = this.rootId;
    while (x !== IT_NIL) {
      y = x;
      // Augment on the way down: z will be below x.
      if ((maxA[x] as number) < last) maxA[x] = last;
      x = start < (startA[x] as number) ? (this.leftA[x] as number) : (this.rightA[x] as number);
    }
    this.parentA[z] = y;
    if (y === IT_NIL) this.rootId = z;
    else if (start < (startA[y] as number)) this.leftA[y] = z;
    else this.rightA[y] = z;
    this.insertFixup(z);
    this.count++;
    return z;
  }

  /**
   * Unlink node `id` and free its slot.
   * Mirrors include/linux/interval_tree_generic.h:ITPREFIX_remove().
   */
  remove(id: number): void {
    if (accessReporting) noteWrite(this);
    if (id <= IT_NIL || id >= this.top || this.payloadA[id] === undefined) {
      throw new InvalidArgumentError(`IntervalTree.remove(${id}): not a linked node id`);
    }
    const left = this.leftA;
    const right = this.rightA;
    const parent = this.parentA;
    const z = id;
    let y = z;
    let yWasRed = this.redA[y] === 1;
    let x: number;
    if (left[z] === IT_NIL) {
      x = right[z] as number;
      this.transplant(z, x);
    } else if (right[z] === IT_NIL) {
      x = left[z] as number;
      this.transplant(z, x);
    } else {
      y = this.minimum(right[z] as number);
      yWasRed = this.redA[y] === 1;
      x = right[y] as number;
      if (parent[y] === z) {
        parent[x] = y;
      } else {
        this.transplant(y, x);
        right[y] = right[z] as number;
        parent[right[y] as number] = y;
      }
      this.transplant(z, y);
      left[y] = left[z] as number;
      parent[left[y] as number] = y;
      this.redA[y] = this.redA[z] as number;
    }
    // Every node whose subtree lost z lies on the path from x's parent to the root.
    for (let n = parent[x] as number; n !== IT_NIL; n = parent[n] as number) this.recompute(n);
    if (!yWasRed) this.deleteFixup(x);
    this.parentA[IT_NIL] = IT_NIL;
    this.leftA[IT_NIL] = IT_NIL;
    this.rightA[IT_NIL] = IT_NIL;
    this.redA[IT_NIL] = 0;
    this.payloadA[z] = undefined;
    this.freeSlots.push(z);
    this.count--;
  }

  /**
   * The first node (lowest start, then insertion order) intersecting `[start, last]`, or IT_NIL.
   * Mirrors include/linux/interval_tree_generic.h:ITPREFIX_iter_first().
   */
  iterFirst(start: number, last: number): number {
    if (accessReporting) noteRead(this);
    if (!isUlong(start) || !isUlong(last)) this.checkQuery('IntervalTree.iterFirst', start, last);
    const root = this.rootId;
    if (root === IT_NIL || (this.maxA[root] as number) < start) return IT_NIL;
    return this.subtreeSearch(root, start, last);
  }

  /**
   * The node after `id` (in order) intersecting `[start, last]`, or IT_NIL.
   * Mirrors include/linux/interval_tree_generic.h:ITPREFIX_iter_next().
   */
  iterNext(id: number, start: number, last: number): number {
    if (accessReporting) noteRead(this);
    if (!isUlong(start) || !isUlong(last)) this.checkQuery('IntervalTree.iterNext', start, last);
    if (id <= IT_NIL || id >= this.top || this.payloadA[id] === undefined) {
      throw new InvalidArgumentError(
        `IntervalTree.iterNext: id ${id} is not a linked node id; expected an id returned by iterFirst/iterNext`,
      );
    }
    const right = this.rightA;
    const parent = this.parentA;
    let node = id;
    let rb = right[node] as number;
    for (;;) {
      // Everything up to and including `node` (in order) has been visited; node.start <= last.
      if (rb !== IT_NIL && start <= (this.maxA[rb] as number)) {
        return this.subtreeSearch(rb, start, last);
      }
      // Climb until we arrive from a left child: that parent is the in-order successor.
      let prev: number;
      do {
        const p = parent[node] as number;
        if (p === IT_NIL) return IT_NIL;
        prev = node;
        node = p;
        rb = right[node] as number;
      } while (prev === rb);
      if (last < (this.startA[node] as number)) return IT_NIL;
      if (start <= (this.lastA[node] as number)) return node;
    }
  }

  /** Throw InvalidArgumentError for a query whose bounds are not unsigned longs. */
  private checkQuery(fn: string, start: number, last: number): void {
    checkUlong(fn, 'start', start, 'an address');
    checkUlong(fn, 'last', last, 'an inclusive address');
  }

  /**
   * The first linked node in order (IT_NIL for an empty tree); with inOrderNext, a walk of the
   * whole tree that allocates nothing (a read of the whole tree). Model helper.
   */
  inOrderFirst(): number {
    if (accessReporting) noteRead(this);
    let n = this.rootId;
    if (n === IT_NIL) return IT_NIL;
    while (this.leftA[n] !== IT_NIL) n = this.leftA[n] as number;
    return n;
  }

  /** The linked node after `id` in order, IT_NIL after the last. Model helper. */
  inOrderNext(id: number): number {
    if (id === IT_NIL || this.payloadA[id] === undefined) {
      throw new InvalidArgumentError(`IntervalTree.inOrderNext(${id}): not a linked node id`);
    }
    if (accessReporting) noteRead(this);
    return this.successor(id);
  }

  /** The node after `n` in order, IT_NIL after the last. */
  private successor(n: number): number {
    let r = this.rightA[n] as number;
    if (r !== IT_NIL) {
      while (this.leftA[r] !== IT_NIL) r = this.leftA[r] as number;
      return r;
    }
    let p = this.parentA[n] as number;
    while (p !== IT_NIL && n === this.rightA[p]) {
      n = p;
      p = this.parentA[p] as number;
    }
    return p;
  }

  /**
   * Call `visit` on every linked node in order (start, then insertion order) with its payload,
   * allocating nothing (a read of the whole tree); a corrupt tree (checkStructure says how) stops
   * after `size` nodes instead of looping. Model helper.
   */
  forEachInOrder(visit: (id: number, payload: T) => void): void {
    let left = this.count;
    for (let n = this.inOrderFirst(); n !== IT_NIL && left-- > 0; n = this.successor(n)) {
      visit(n, this.payloadA[n] as T);
    }
  }

  /** Ids of all linked nodes in order (start, then insertion order). Model helper. */
  inOrder(): number[] {
    const out: number[] = [];
    this.forEachInOrder((id) => out.push(id));
    return out;
  }

  /**
   * Red-black, order and augmentation violations (empty when the tree is sound). Model helper
   * used by the invariant checks and the tests.
   */
  checkStructure(): string[] {
    const errs: string[] = [];
    if (this.redA[this.rootId] === 1) errs.push('root is red');
    if (this.rootId !== IT_NIL && this.parentA[this.rootId] !== IT_NIL)
      errs.push('root has a parent');
    let seen = 0;
    let prevStart = Number.NEGATIVE_INFINITY;
    const visit = (n: number): number => {
      if (n === IT_NIL) return 1;
      seen++;
      const l = this.leftA[n] as number;
      const r = this.rightA[n] as number;
      if (l !== IT_NIL && this.parentA[l] !== n)
        errs.push(`node ${n}: left child ${l} has wrong parent`);
      if (r !== IT_NIL && this.parentA[r] !== n)
        errs.push(`node ${n}: right child ${r} has wrong parent`);
      if (this.redA[n] === 1 && (this.redA[l] === 1 || this.redA[r] === 1)) {
        errs.push(`node ${n}: red node with a red child`);
      }
      const bl = visit(l);
      const s = this.startA[n] as number;
      if (s < prevStart) errs.push(`node ${n}: start ${s} out of order`);
      prevStart = s;
      const br = visit(r);
      if (bl !== br) errs.push(`node ${n}: black heights ${bl} != ${br}`);
      const want = Math.max(
        this.lastA[n] as number,
        this.maxA[l] as number,
        this.maxA[r] as number,
      );
      if (this.maxA[n] !== want) errs.push(`node ${n}: subtree last ${this.maxA[n]} != ${want}`);
      return bl + (this.redA[n] === 1 ? 0 : 1);
    };
    visit(this.rootId);
    if (seen !== this.count) errs.push(`reachable nodes ${seen} != size ${this.count}`);
    return errs;
  }

  /** First node of the subtree at `node` intersecting `[start, last]` (maxA[node] >= start). */
  private subtreeSearch(node: number, start: number, last: number): number {
    const left = this.leftA;
    const right = this.rightA;
    const maxA = this.maxA;
    for (;;) {
      const l = left[node] as number;
      if (l !== IT_NIL && start <= (maxA[l] as number)) {
        node = l;
        continue;
      }
      if ((this.startA[node] as number) <= last) {
        if (start <= (this.lastA[node] as number)) return node;
        const r = right[node] as number;
        if (r !== IT_NIL && start <= (maxA[r] as number)) {
          node = r;
          continue;
        }
      }
      return IT_NIL;
    }
  }

  /** A free slot, growing the arrays when needed. */
  private allocSlot(): number {
    const reused = this.freeSlots.pop();
    if (reused !== undefined) return reused;
    if (this.top === this.startA.length) this.grow();
    return this.top++;
  }

  private grow(): void {
    const cap = this.startA.length * 2;
    const f64 = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(cap);
      b.set(a);
      return b;
    };
    const i32 = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
      const b = new Int32Array(cap);
      b.set(a);
      return b;
    };
    this.startA = f64(this.startA);
    this.lastA = f64(this.lastA);
    this.maxA = f64(this.maxA);
    this.leftA = i32(this.leftA);
    this.rightA = i32(this.rightA);
    this.parentA = i32(this.parentA);
    const red = new Uint8Array(cap);
    red.set(this.redA);
    this.redA = red;
  }

  /** Recompute the subtree maximum of `n` from its own last and its children. */
  private recompute(n: number): void {
    const maxA = this.maxA;
    let m = this.lastA[n] as number;
    const l = maxA[this.leftA[n] as number] as number;
    const r = maxA[this.rightA[n] as number] as number;
    if (l > m) m = l;
    if (r > m) m = r;
    maxA[n] = m;
  }

  private minimum(n: number): number {
    while (this.leftA[n] !== IT_NIL) n = this.leftA[n] as number;
    return n;
  }

  /** Put `v` where `u` was (v may be NIL: its parent is set for the delete fixup). */
  private transplant(u: number, v: number): void {
    const p = this.parentA[u] as number;
    if (p === IT_NIL) this.rootId = v;
    else if (u === this.leftA[p]) this.leftA[p] = v;
    else this.rightA[p] = v;
    this.parentA[v] = p;
  }

  /** Rotate `x` down to the left; the augmented maxima of x and its right child follow. */
  private rotateLeft(x: number): void {
    const left = this.leftA;
    const right = this.rightA;
    const parent = this.parentA;
    const y = right[x] as number;
    const b = left[y] as number;
    right[x] = b;
    if (b !== IT_NIL) parent[b] = x;
    const p = parent[x] as number;
    parent[y] = p;
    if (p === IT_NIL) this.rootId = y;
    else if (x === left[p]) left[p] = y;
    else right[p] = y;
    left[y] = x;
    parent[x] = y;
    this.maxA[y] = this.maxA[x] as number;
    this.recompute(x);
  }

  /** Mirror image of rotateLeft(). */
  private rotateRight(x: number): void {
    const left = this.leftA;
    const right = this.rightA;
    const parent = this.parentA;
    const y = left[x] as number;
    const b = right[y] as number;
    left[x] = b;
    if (b !== IT_NIL) parent[b] = x;
    const p = parent[x] as number;
    parent[y] = p;
    if (p === IT_NIL) this.rootId = y;
    else if (x === right[p]) right[p] = y;
    else left[p] = y;
    right[y] = x;
    parent[x] = y;
    this.maxA[y] = this.maxA[x] as number;
    this.recompute(x);
  }

  private insertFixup(z: number): void {
    const red = this.redA;
    const parent = this.parentA;
    while (red[parent[z] as number] === 1) {
      const p = parent[z] as number;
      const g = parent[p] as number;
      if (p === this.leftA[g]) {
        const u = this.rightA[g] as number;
        if (red[u] === 1) {
          red[p] = 0;
          red[u] = 0;
          red[g] = 1;
          z = g;
        } else {
          if (z === this.rightA[p]) {
            z = p;
            this.rotateLeft(z);
          }
          const p2 = parent[z] as number;
          const g2 = parent[p2] as number;
          red[p2] = 0;
          red[g2] = 1;
          this.rotateRight(g2);
        }
      } else {
        const u = this.leftA[g] as number;
        if (red[u] === 1) {
          red[p] = 0;
          red[u] = 0;
          red[g] = 1;
          z = g;
        } else {
          if (z === this.leftA[p]) {
            z = p;
            this.rotateRight(z);
          }
          const p2 = parent[z] as number;
          const g2 = parent[p2] as number;
          red[p2] = 0;
          red[g2] = 1;
          this.rotateLeft(g2);
        }
      }
    }
    red[this.rootId] = 0;
  }

  private deleteFixup(x: number): void {
    const red = this.redA;
    const parent = this.parentA;
    const left = this.leftA;
    const right = this.rightA;
    while (x !== this.rootId && red[x] === 0) {
      const p = parent[x] as number;
      if (x === left[p]) {
        let w = right[p] as number;
        if (red[w] === 1) {
          red[w] = 0;
          red[p] = 1;
          this.rotateLeft(p);
          w = right[p] as number;
        }
        if (red[left[w] as number] === 0 && red[right[w] as number] === 0) {
          red[w] = 1;
          x = p;
        } else {
          if (red[right[w] as number] === 0) {
            red[left[w] as number] = 0;
            red[w] = 1;
            this.rotateRight(w);
            w = right[p] as number;
          }
          red[w] = red[p] as number;
          red[p] = 0;
          red[right[w] as number] = 0;
          this.rotateLeft(p);
          x = this.rootId;
        }
      } else {
        let w = left[p] as number;
        if (red[w] === 1) {
          red[w] = 0;
          red[p] = 1;
          this.rotateRight(p);
          w = left[p] as number;
        }
        if (red[right[w] as number] === 0 && red[left[w] as number] === 0) {
          red[w] = 1;
          x = p;
        } else {
          if (red[left[w] as number] === 0) {
            red[right[w] as number] = 0;
            red[w] = 1;
            this.rotateLeft(w);
            w = left[p] as number;
          }
          red[w] = red[p] as number;
          red[p] = 0;
          red[left[w] as number] = 0;
          this.rotateRight(p);
          x = this.rootId;
        }
      }
    }
    red[x] = 0;
  }
}
