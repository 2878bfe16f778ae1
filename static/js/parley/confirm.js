/*
 * Ask before a form with data-confirm="Question?" is submitted (on the form
 * or on its submit button). Inline onsubmit handlers are ruled out by the
 * Content-Security-Policy, hence this listener.
 */
document.addEventListener('submit', (event) => {
  const form = event.target;
  const submitter = event.submitter;
  const question = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
  if (question && !window.confirm(question)) event.preventDefault();
});
