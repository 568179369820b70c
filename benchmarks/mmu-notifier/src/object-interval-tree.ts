/**
 * The same augmented red-black interval tree as @hmmsim/mmu-notifier's IntervalTree, but with one
 * JS object per node instead of typed arrays: the baseline for "do typed arrays pay?".
 */

interface Node<T> {
  start: number;
  last: number;
  max: number;
  left: Node<T>;
  right: Node<T>;
  parent: Node<T>;
  red: boolean;
  payload: T | undefined;
}

export class ObjectIntervalTree<T> {
  readonly nil: Node<T>;
  root: Node<T>;

  constructor() {
    const nil = { start: 0, last: 0, max: -1, red: false, payload: undefined } as Node<T>;
    nil.left = nil;
    nil.right = nil;
    nil.parent = nil;
    this.nil = nil;
    this.root = nil;
  }

  insert(start: number, last: number, payload: T): Node<T> {
    const nil = this.nil;
    const z: Node<T> = {
      start,
      last,
      max: last,
      left: nil,
      right: nil,
      parent: nil,
      red: true,
      payload,
    };
    let y = nil;
    let x = this.root;
    while (x !== nil) {
      y = x;
      if (x.max < last) x.max = last;
      x = start < x.start ? x.left : x.right;
    }
    z.parent = y;
    if (y === nil) this.root = z;
    else if (start < y.start) y.left = z;
    else y.right = z;
    this.insertFixup(z);
    return z;
  }

  iterFirst(start: number, last: number): Node<T> | null {
    if (this.root === this.nil || this.root.max < start) return null;
    return this.search(this.root, start, last);
  }

  iterNext(node: Node<T>, start: number, last: number): Node<T> | null {
    const nil = this.nil;
    let rb = node.right;
    for (;;) {
      if (rb !== nil && start <= rb.max) return this.search(rb, start, last);
      let prev: Node<T>;
      do {
        const p = node.parent;
        if (p === nil) return null;
        prev = node;
        node = p;
        rb = node.right;
      } while (prev === rb);
      if (last < node.start) return null;
      if (start <= node.last) return node;
    }
  }

  private search(node: Node<T>, start: number, last: number): Node<T> | null {
    const nil = this.nil;
    for (;;) {
      if (node.left !== nil && start <= node.left.max) {
        node = node.left;
        continue;
      }
      if (node.start <= last) {
        if (start <= node.last) return node;
        if (node.right !== nil && start <= node.right.max) {
          node = node.right;
          continue;
        }
      }
      return null;
    }
  }

  private recompute(n: Node<T>): void {
    n.max = Math.max(n.last, n.left.max, n.right.max);
  }

  private rotateLeft(x: Node<T>): void {
    const nil = this.nil;
    const y = x.right;
    x.right = y.left;
    if (y.left !== nil) y.left.parent = x;
    y.parent = x.parent;
    if (x.parent === nil) this.root = y;
    else if (x === x.parent.left) x.parent.left = y;
    else x.parent.right = y;
    y.left = x;
    x.parent = y;
    y.max = x.max;
    this.recompute(x);
  }

  private rotateRight(x: Node<T>): void {
    const nil = this.nil;
    const y = x.left;
    x.left = y.right;
    if (y.right !== nil) y.right.parent = x;
    y.parent = x.parent;
    if (x.parent === nil) this.root = y;
    else if (x === x.parent.right) x.parent.right = y;
    else x.parent.left = y;
    y.right = x;
    x.parent = y;
    y.max = x.max;
    this.recompute(x);
  }

  private insertFixup(z: Node<T>): void {
    while (z.parent.red) {
      const p = z.parent;
      const g = p.parent;
      if (p === g.left) {
        const u = g.right;
        if (u.red) {
          p.red = false;
          u.red = false;
          g.red = true;
          z = g;
        } else {
          if (z === p.right) {
            z = p;
            this.rotateLeft(z);
          }
          z.parent.red = false;
          z.parent.parent.red = true;
          this.rotateRight(z.parent.parent);
        }
      } else {
        const u = g.left;
        if (u.red) {
          p.red = false;
          u.red = false;
          g.red = true;
          z = g;
        } else {
          if (z === p.left) {
            z = p;
            this.rotateRight(z);
          }
          z.parent.red = false;
          z.parent.parent.red = true;
          this.rotateLeft(z.parent.parent);
        }
      }
    }
    this.root.red = false;
  }
}
