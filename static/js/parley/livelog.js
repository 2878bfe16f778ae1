/*
 * The message list sits in a live region (role="log", polite): screen readers
 * read out what is added to it. A history load, a page of older messages or a
 * redraw puts back messages already there, which is not news, so the region is
 * aria-busy while they go in. Browsers hand DOM changes to the accessibility
 * tree a moment later, not at once, so a hold is released only after `later`
 * (a short timer), and the region is busy while any hold is kept.
 */

/** Return `hold()`, which makes the region busy and returns the `release()` of that hold. */
export function quietRegion(setBusy, later) {
  let holds = 0;
  return function hold() {
    holds += 1;
    if (holds === 1) setBusy(true);
    let released = false;
    return function release() {
      if (released) return;
      released = true;
      later(() => {
        holds -= 1;
        if (holds === 0) setBusy(false);
      });
    };
  };
}
