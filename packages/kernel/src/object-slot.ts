/**
 * A field that a higher layer keeps on an object of a lower one — as the kernel adds
 * `mm->mmu_notifier_mm` or `mm->hmm` to struct mm_struct — stored on the object itself under a
 * symbol of its own instead of in a WeakMap.
 *
 * Why not a WeakMap: V8's young-generation collector treats a WeakMap's values as live, so a
 * value that leads back to its key (an mmu_notifier_mm points at its mm, the mm at its machine)
 * keeps the whole object graph alive until the next full collection. An explorer that builds a
 * machine per schedule then promotes every machine to the old generation: measured, 99 % of
 * what survived each young collection. A property of the key dies with the key.
 *
 * An object that cannot take a new property (frozen, sealed, preventExtensions) still gets one:
 * its value goes to a WeakMap of the slot's own.
 *
 * Mirrors: model-only.
 */
import { InvalidArgumentError } from './errors.ts';

/**
 * One named per-object field: `get`, `set`, `has`, `delete` as on a WeakMap whose values are
 * never `undefined`. The property is non-enumerable and keyed by a symbol no other code holds.
 * Mirrors: model-only.
 */
export class ObjectSlot<K extends object, V> {
  /** What the slot holds (the symbol's description, for error messages and debuggers). */
  readonly name: string;
  private readonly key: symbol;
  private fallback: WeakMap<K, V> | null = null;

  constructor(name: string) {
    if (typeof name !== 'string' || name === '') {
      throw new InvalidArgumentError(
        `ObjectSlot: name is ${String(name)}; expected a non-empty string`,
      );
    }
    this.name = name;
    this.key = Symbol(name);
  }

  /** The value of `o`'s slot, undefined when none was set (or it was deleted). */
  get(o: K): V | undefined {
    if (typeof o !== 'object' || o === null) return this.fallback?.get(o); // as WeakMap.get
    const v = (o as Record<symbol, V | undefined>)[this.key];
    if (v !== undefined || this.fallback === null) return v;
    return this.fallback.get(o);
  }

  /** Whether `o` holds a value in this slot. */
  has(o: K): boolean {
    return this.get(o) !== undefined;
  }

  /** Set `o`'s slot to `value` (not undefined: delete clears a slot). */
  set(o: K, value: V): void {
    if (value === undefined) {
      throw new InvalidArgumentError(
        `ObjectSlot ${this.name}: set to undefined; expected a value (delete clears a slot)`,
      );
    }
    if (typeof o === 'object' && o !== null && Object.hasOwn(o, this.key)) {
      this.write(o, value);
    } else if (typeof o === 'object' && o !== null && Object.isExtensible(o)) {
      Object.defineProperty(o, this.key, { value, writable: true, configurable: true });
    } else if ((typeof o === 'object' && o !== null) || typeof o === 'function') {
      if (this.fallback === null) this.fallback = new WeakMap();
      this.fallback.set(o, value);
    } else {
      throw new InvalidArgumentError(
        `ObjectSlot ${this.name}: key is ${String(o)}; expected an object`,
      );
    }
  }

  /** Clear `o`'s slot; true when it held a value. */
  delete(o: K): boolean {
    if (typeof o === 'object' && o !== null && Object.hasOwn(o, this.key)) {
      const had = (o as Record<symbol, V | undefined>)[this.key] !== undefined;
      this.write(o, undefined); // keep the property: deleting one slows every later access
      return had;
    }
    return this.fallback?.delete(o) ?? false;
  }

  /** Write the slot property `o` already has; a typed error when `o` was frozen since. */
  private write(o: K, value: V | undefined): void {
    if (!Reflect.set(o, this.key, value)) {
      throw new InvalidArgumentError(
        `ObjectSlot ${this.name}: the object was frozen after its slot was set; expected it to stay writable`,
      );
    }
  }
}
