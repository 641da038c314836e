// A remote consultation's page: the inviting doctor attaches the scan of a consent signed on
// paper. The form sends the file to the same-origin API with who signed and who witnessed; the
// server checks the file by its bytes. On success the page shows the recorded consent; on a
// refusal, the page's own message (in its language).
document.addEventListener('submit', async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.dataset.consentScan) return;
  event.preventDefault();
  const file = form.querySelector('input[type=file]').files[0];
  const status = form.querySelector('[role=status]');
  if (!file) {
    status.textContent = form.dataset.error;
    return;
  }
  const query = new URLSearchParams({
    signer: form.elements.signer.value,
    witness: form.elements.witness.value,
  });
  const response = await fetch(`${form.dataset.consentScan}?${query}`, {
    method: 'PUT',
    body: file,
    headers: { 'x-csrf-token': document.body.dataset.csrf, 'content-type': file.type || 'application/octet-stream' },
    credentials: 'same-origin',
  });
  if (response.ok) {
    window.location.reload();
    return;
  }
  status.textContent = form.dataset.error;
});
