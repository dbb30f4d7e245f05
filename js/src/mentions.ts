// `@` completion of kernel variables in the message input, and the chips of attached ones.
//
// Typing `@` (at the start or after a space) asks the kernel for its variables once per `@`;
// the list is filtered as you type (names starting with the query first). Arrow keys move,
// Enter or Tab choose, Escape closes. Choosing removes `@query` from the text and adds a chip;
// the chip's × removes it. The kernel renders the chosen variables when the message is sent.
//
// DOM hooks for tests:
//   [data-testid="mention-menu"]     the completion list (role="listbox"), hidden when closed
//   [data-testid="mention-option"]   one variable (role="option", data-name, aria-selected)
//   [data-testid="attachments"]      the chips of the next message
//   [data-testid="chip"]             one attached variable (data-name); button "Remove NAME"
import { button, el } from "./render";
import type { Variable } from "./types";

export const MAX_OPTIONS = 20;

const QUERY = /(^|\s)@(\w*)$/;
let menus = 0; // ids for aria-controls, unique on the page

export class Mentions {
  readonly menu: HTMLElement;
  readonly chips: HTMLElement;
  private variables: Variable[] | null = null;
  private chosen: Variable[] = [];
  private query: { start: number; text: string } | null = null;
  private options: Variable[] = [];
  private active = 0;

  constructor(
    private readonly input: HTMLTextAreaElement,
    private readonly requestVariables: () => void,
  ) {
    this.menu = el("div", "nbchat-mentions");
    this.menu.dataset.testid = "mention-menu";
    this.menu.setAttribute("role", "listbox");
    this.menu.setAttribute("aria-label", "Kernel variables");
    this.menu.hidden = true;
    this.menu.id = `nbchat-mentions-${++menus}`;
    // The input stays a textbox (its role is part of the panel's contract) that controls the
    // list and points at the active option, which is what screen readers announce.
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", this.menu.id);
    // Keep the focus in the input while an option is clicked.
    this.menu.addEventListener("mousedown", (event) => event.preventDefault());
    this.chips = el("div", "nbchat-chips");
    this.chips.dataset.testid = "attachments";
    this.chips.hidden = true;
    input.addEventListener("input", () => this.update());
    input.addEventListener("blur", () => this.close());
  }

  /** The kernel's answer to a variables request. */
  setVariables(variables: Variable[]): void {
    this.variables = variables;
    if (this.query) this.show();
  }

  /** Handle a key while the menu is open; true when the key was the menu's. */
  onKey(event: KeyboardEvent): boolean {
    if (!this.query) return false;
    if (event.key === "Escape") {
      this.close();
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (!this.options.length) return false;
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.options.length) % this.options.length;
      this.show();
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
      if (!this.options.length) return false;
      this.choose(this.options[this.active]);
    } else {
      return false;
    }
    event.preventDefault();
    event.stopPropagation();
    return true;
  }

  /** Names of the attached variables, in the order chosen. */
  names(): string[] {
    return this.chosen.map((v) => v.name);
  }

  /** Attach these variables (a refused message gets its chips back). */
  restore(names: string[]): void {
    this.chosen = names.map((name) => ({ name, description: "" }));
    this.showChips();
  }

  clear(): void {
    this.chosen = [];
    this.showChips();
    this.close();
  }

  private update(): void {
    const caret = this.input.selectionStart ?? this.input.value.length;
    const match = QUERY.exec(this.input.value.slice(0, caret));
    if (!match) {
      this.close();
      return;
    }
    const start = caret - match[2].length - 1;
    if (this.query?.start !== start) {
      this.variables = null; // a new `@`: the namespace may have changed since the last one
      this.requestVariables();
    }
    this.query = { start, text: match[2] };
    this.active = 0;
    this.show();
  }

  private show(): void {
    if (!this.query) return;
    const query = this.query.text.toLowerCase();
    const matching = (this.variables ?? []).filter((v) => v.name.toLowerCase().includes(query));
    const starts = matching.filter((v) => v.name.toLowerCase().startsWith(query));
    this.options = [...starts, ...matching.filter((v) => !starts.includes(v))].slice(0, MAX_OPTIONS);
    this.active = Math.min(this.active, Math.max(this.options.length - 1, 0));
    const items = this.options.map((variable, index) => this.option(variable, index));
    if (!items.length) {
      const note = this.variables === null ? "Loading variables…" : "No matching variables";
      items.push(el("div", "nbchat-mention-empty", note));
    }
    this.menu.replaceChildren(...items);
    this.menu.hidden = false;
    const active = this.options.length ? `${this.menu.id}-${this.active}` : "";
    if (active) this.input.setAttribute("aria-activedescendant", active);
    else this.input.removeAttribute("aria-activedescendant");
  }

  private option(variable: Variable, index: number): HTMLElement {
    const item = el("div", "nbchat-mention");
    item.id = `${this.menu.id}-${index}`;
    item.dataset.testid = "mention-option";
    item.dataset.name = variable.name;
    item.setAttribute("role", "option");
    item.setAttribute("aria-selected", String(index === this.active));
    item.append(el("span", "nbchat-mention-name", variable.name), el("span", "nbchat-mention-type", variable.description));
    item.addEventListener("click", () => this.choose(variable));
    return item;
  }

  private choose(variable: Variable): void {
    if (!this.query) return;
    const { start, text } = this.query;
    const value = this.input.value;
    this.input.value = value.slice(0, start) + value.slice(start + 1 + text.length);
    this.input.setSelectionRange(start, start);
    if (!this.chosen.some((v) => v.name === variable.name)) this.chosen.push(variable);
    this.showChips();
    this.close();
  }

  private close(): void {
    this.query = null;
    this.options = [];
    this.menu.hidden = true;
    this.menu.replaceChildren();
    this.input.removeAttribute("aria-activedescendant");
  }

  private showChips(): void {
    this.chips.replaceChildren(
      ...this.chosen.map((variable) => {
        const chip = el("span", "nbchat-chip");
        chip.dataset.testid = "chip";
        chip.dataset.name = variable.name;
        chip.title = variable.description;
        const remove = button(`Remove ${variable.name}`, "nbchat-chip-remove", "×");
        remove.addEventListener("click", () => {
          this.chosen = this.chosen.filter((v) => v !== variable);
          this.showChips();
          this.input.focus();
        });
        chip.append(el("span", "nbchat-chip-name", `@${variable.name}`), remove);
        return chip;
      }),
    );
    this.chips.hidden = !this.chosen.length;
  }
}
