// Whether the kernel that holds the widget is still there. Nothing comes over the comm when it
// goes away, so the view watches what the front end knows:
// - the widget manager marks every model's comm dead when the kernel restarts ("comm_live_update";
//   JupyterLab and Notebook 7 also when it died and the server restarted it; nbclassic also when
//   it was killed), and a model closes when the kernel closes the widget ("comm:close");
// - the kernel connection of JupyterLab's and Notebook 7's widget manager (`kernel`, with Lumino
//   signals) says when the kernel is shut down or dead for good. Other hosts' managers have no
//   such connection; the comm events above still apply there;
// - a model restored from a saved notebook on a new kernel never had a comm: the widget manager's
//   own model (`get_model`, by the id the kernel side syncs) says so from the start
//   (`comm_live` false), and a view of it would otherwise look live and drop what is sent.
import type { AnyModel } from "@anywidget/types";

interface Signal<T> {
  connect(slot: (sender: unknown, value: T) => void): boolean;
  disconnect(slot: (sender: unknown, value: T) => void): boolean;
}

interface ManagedModel {
  comm_live?: boolean;
}

interface Manager {
  kernel?: KernelConnection | null;
  get_model?(id: string): Promise<ManagedModel | undefined> | undefined;
}

interface KernelConnection {
  statusChanged?: Signal<string>;
  disposed?: Signal<void>;
}

const COMM_EVENTS = ["comm_live_update", "comm:close"];

/** Call `lost` when the widget's kernel goes away (it may be called more than once); returns
 * the function that stops watching. */
export function watchKernel(model: AnyModel<{ panel_id: string }>, lost: () => void): () => void {
  for (const event of COMM_EVENTS) model.on(event, lost);
  const manager = model.widget_manager as Manager | undefined;
  const id = model.get("panel_id");
  if (id && manager?.get_model) {
    Promise.resolve(manager.get_model(id))
      .then((managed) => {
        if (managed?.comm_live === false) lost();
      })
      .catch(() => undefined); // not this manager's model: the events above still apply
  }
  const kernel = manager?.kernel;
  const onStatus = (_sender: unknown, status: string) => {
    if (status === "dead") lost();
  };
  const onDisposed = () => lost();
  kernel?.statusChanged?.connect(onStatus);
  kernel?.disposed?.connect(onDisposed);
  return () => {
    for (const event of COMM_EVENTS) model.off(event, lost);
    kernel?.statusChanged?.disconnect(onStatus);
    kernel?.disposed?.disconnect(onDisposed);
  };
}
