// Requests from a view to the kernel that made it, and noticing when that kernel is gone.
// This file is put in front of build_view.js and diff_tree.js when the widgets load them (see
// dockmagic/views/widget_scripts.py), so both views tell a lost kernel the same way.

// How long a request may go unanswered while the kernel says it is idle before the view says the kernel
// no longer knows it (a restarted kernel, or a notebook reopened after one).
const LOST_AFTER_MS = 4000;

/**
 * Send `message` to the kernel and call `onGone` if it will never be answered: the kernel processed it
 * (went idle after it) and sent nothing back, or the message could not be sent while the kernel sat idle.
 * A busy kernel answers when its cell ends, so the view keeps waiting then. `isPending` says whether the
 * answer is still awaited; `timers` collects the timeouts, for the view's disposer to clear.
 * @param {{send: Function, widget_manager?: {kernel?: {status: string}}}} model
 * @param {object} message
 * @param {() => boolean} isPending
 * @param {() => void} onGone
 * @param {number[]} timers
 */
function sendToKernel(model, message, isPending, onGone, timers) {
  let idleSeen = 0;  // idle twice in a row, a second apart: not the blink between two queued cells
  const check = () => {
    if (!isPending()) return;
    const manager = model.widget_manager;
    const kernel = manager && manager.kernel;
    const idle = Boolean(manager) && (!kernel || kernel.status === "idle" || kernel.status === "dead");
    idleSeen = idle ? idleSeen + 1 : 0;
    if (idleSeen >= 2) onGone();
    else timers.push(setTimeout(check, idle ? 1000 : LOST_AFTER_MS));
  };
  timers.push(setTimeout(check, LOST_AFTER_MS));
  const callbacks = {
    iopub: {
      status: (reply) => {
        if (reply && reply.content && reply.content.execution_state === "idle") {
          // The answer comes before the kernel's "idle"; a moment's grace for the page to handle it.
          timers.push(setTimeout(() => { if (isPending()) onGone(); }, 500));
        }
      },
    },
  };
  model.send(message, callbacks);
}

/** The sentence a view shows when its kernel is gone, naming what to run again. */
function kernelGoneText(what) {
  return `The kernel that made this view has restarted: run ${what} again.`;
}
