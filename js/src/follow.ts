// Keeps a scrolling transcript at its newest message, the way chat apps do.
//
// The view follows the conversation while the reader is at the bottom: content that grows
// (a streaming reply, a committed turn, an image that loads) keeps it scrolled to the end. A
// reader who scrolls up to read stops the following, and a "Jump to latest" control appears;
// it (or scrolling back to the bottom) resumes it. Sending a message always resumes it.
//
// Growth is noticed with a ResizeObserver on the content, so it does not matter which code path
// added the content; where there is no ResizeObserver (unit tests), callers call `update()`.

/** Distance from the bottom (px) that still counts as "at the bottom". */
export const BOTTOM_SLACK = 40;

export class Follower {
  /** True while the view keeps itself scrolled to the newest content. */
  following = true;
  private lastTop = 0;
  private readonly observer: ResizeObserver | null;

  constructor(
    private readonly scroller: HTMLElement,
    private readonly jump: HTMLElement,
    content: HTMLElement[],
  ) {
    this.jump.hidden = true;
    scroller.addEventListener("scroll", () => this.onScroll(), { passive: true });
    jump.addEventListener("click", () => this.resume());
    this.observer = typeof ResizeObserver === "function" ? new ResizeObserver(() => this.update()) : null;
    for (const node of [scroller, ...content]) this.observer?.observe(node);
  }

  dispose(): void {
    this.observer?.disconnect();
  }

  /** The content or the viewport changed size: stay at the end when following. */
  update(): void {
    if (this.following) this.toEnd();
    else this.jump.hidden = this.atBottom();
  }

  /** Where the reader is: following, or held at a scroll offset (px). */
  get place(): { following: boolean; top: number } {
    return { following: this.following, top: this.scroller.scrollTop };
  }

  /** Go back to a reading place an earlier view of this panel had (memory.ts); call once
   * the scroller is laid out. */
  restore(place: { following: boolean; top: number }): void {
    if (place.following) return this.resume();
    this.following = false;
    this.scroller.scrollTop = place.top;
    this.lastTop = this.scroller.scrollTop;
    this.jump.hidden = this.atBottom();
  }

  /** Follow again from now on (the user sent a message, or asked to jump). */
  resume(): void {
    this.following = true;
    this.jump.hidden = true;
    this.toEnd();
  }

  atBottom(): boolean {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < BOTTOM_SLACK;
  }

  private toEnd(): void {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.lastTop = this.scroller.scrollTop;
  }

  private onScroll(): void {
    const top = this.scroller.scrollTop;
    const movedUp = top < this.lastTop;
    this.lastTop = top;
    if (this.atBottom()) {
      this.following = true;
      this.jump.hidden = true;
    } else if (movedUp) {
      // Only the reader scrolls up: content growth and our own scrolling move down or not at all.
      this.following = false;
      this.jump.hidden = false;
    }
  }
}
