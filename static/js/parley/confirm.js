/*
 * Asking before something that cannot be undone. confirmAction() is for
 * scripts (deleting a message); forms ask with data-confirm="Question?" (on
 * the form or its submit button), since inline onsubmit handlers are ruled
 * out by the Content-Security-Policy, hence the listener below. The page
 * loads this module from base.html and main.js imports it by the same URL,
 * so the listener is registered once.
 */

/** Ask `question`; resolve true when the user agrees. One place to swap in a styled dialog. */
export function confirmAction(question) {
  return Promise.resolve(window.confirm(question));
}

document.addEventListener('submit', (event) => {
  const form = event.target;
  const submitter = event.submitter;
  const question = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
