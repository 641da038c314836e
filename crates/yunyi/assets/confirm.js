// Asks before a form does something that cannot be undone (cancel an appointment, end a
// consultation): <form data-confirm="…"> shows the question; "cancel" keeps the page as it is.
// Without script the form still works, as every form here does.
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
  if (!window.confirm(form.dataset.confirm)) event.preventDefault();
});
