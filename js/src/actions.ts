// Controls on the newest turn: Regenerate on the last reply, Edit on the last user message.
// Only the last turn can be replaced (src/nbchat/widget.py, ChatWidget.regenerate); while a reply
// streams there are none. A failed reply has Retry in its error box instead (render.ts): shown
// on the last turn only, for the same reason.
import { button } from "./render";

const ACTIONS = "nbchat-actions";

export function placeActions(list: HTMLElement, streaming: boolean): void {
  for (const old of Array.from(list.querySelectorAll(`.${ACTIONS}`))) old.remove();
  const replies = list.querySelectorAll<HTMLElement>('[data-testid="message-assistant"]');
  const users = list.querySelectorAll<HTMLElement>('[data-testid="message-user"]');
  const reply = replies[replies.length - 1];
  const user = users[users.length - 1];
  for (const retry of Array.from(list.querySelectorAll<HTMLButtonElement>(".nbchat-retry"))) {
    retry.hidden = streaming || retry.dataset.turn !== reply?.dataset.turn;
  }
  if (streaming) return;
  if (!reply || !user || reply.dataset.turn !== user.dataset.turn) return;
  const turn = reply.dataset.turn ?? "";
  if (!reply.querySelector('[data-testid="error"]')) {
    reply.append(actionBar(button("Regenerate", "nbchat-regenerate"), turn));
  }
  user.append(actionBar(button("Edit message", "nbchat-edit", "Edit"), turn));
}

function actionBar(control: HTMLButtonElement, turn: string): HTMLElement {
  const bar = document.createElement("div");
  bar.className = ACTIONS;
  control.dataset.turn = turn;
  bar.append(control);
  return bar;
}
