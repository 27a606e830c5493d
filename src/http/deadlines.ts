/**
 * Attempt deadlines on one timer per timeout. A timer of its own for every attempt, set when it
 * starts and cleared when it settles (nearly always long before the deadline), cost about half
 * a µs or more each. Attempts with the same timeout come due in the order they started, so
 * they wait in a list in that order (a linked ring: a deadline is taken off in O(1) when its
 * attempt settles) and one timer is set for the earliest.
 */

/** A deadline in the list; `cancel` takes it off. */
export interface Deadline {
  dueAt: number;
  onDue: (() => void) | undefined;
  prev: Deadline;
  next: Deadline;
}

class DeadlineList {
  readonly #timeoutMs: number;
  /** The ring's head: a node that is never due. */
  readonly #head = { dueAt: Infinity, onDue: undefined } as Deadline;
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#head.prev = this.#head;
    this.#head.next = this.#head;
  }

  add(onDue: () => void): Deadline {
    const head = this.#head;
    const deadline: Deadline = { dueAt: performance.now() + this.#timeoutMs, onDue, prev: head.prev, next: head };
    head.prev.next = deadline;
    head.prev = deadline;
    // A timer already set fires for an earlier deadline, which comes first.
    this.#timer ??= setTimeout(this.#fire, this.#timeoutMs);
    return deadline;
  }

  cancel(deadline: Deadline): void {
    if (deadline.onDue === undefined) return;
    deadline.prev.next = deadline.next;
    deadline.next.prev = deadline.prev;
    deadline.onDue = undefined;
    deadline.prev = deadline;
    deadline.next = deadline;
    // Nothing left to wait for: the timer must not keep the process alive.
    if (this.#head.next === this.#head && this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /**
   * Takes off what is due (the timer may fire a little before a deadline: that one waits on),
   * sets the timer for the next, then calls them: whatever they start or cancel finds the list
   * and the timer in order.
   */
  readonly #fire = (): void => {
    this.#timer = undefined;
    const head = this.#head;
    const now = performance.now();
    const due: Array<() => void> = [];
    while (head.next !== head && head.next.dueAt <= now) {
      const deadline = head.next;
      due.push(deadline.onDue!);
      this.cancel(deadline);
    }
    if (head.next !== head) this.#timer = setTimeout(this.#fire, Math.max(1, Math.ceil(head.next.dueAt - now)));
    for (const onDue of due) onDue();
  };
}

const lists = new Map<number, DeadlineList>();

/** Calls `onDue` `timeoutMs` from now unless the deadline is cancelled first (cancelDeadline). */
export function startDeadline(timeoutMs: number, onDue: () => void): Deadline {
  let list = lists.get(timeoutMs);
  if (list === undefined) {
    list = new DeadlineList(timeoutMs);
    lists.set(timeoutMs, list);
  }
  return list.add(onDue);
}

/** Takes the deadline off its list; a deadline that is due or cancelled already is left alone. */
export function cancelDeadline(timeoutMs: number, deadline: Deadline): void {
  lists.get(timeoutMs)?.cancel(deadline);
}
