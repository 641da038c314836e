// Administrator pages: upload a doctor's photo with the same-origin API. The CSRF token comes
// from <body data-csrf>; the server checks the image by its bytes, whatever the file claims.
document.addEventListener('change', async (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || !input.dataset.photoUpload) return;
  const file = input.files && input.files[0];
  if (!file) return;
  const status = document.getElementById('photo-status');
  const response = await fetch(input.dataset.photoUpload, {
    method: 'PUT',
    body: file,
    headers: { 'x-csrf-token': document.body.dataset.csrf, 'content-type': file.type || 'application/octet-stream' },
    credentials: 'same-origin',
  });
  if (response.ok) {
    window.location.reload();
    return;
  }
  const problem = await response.json().catch(() => ({}));
  if (status) status.textContent = problem.detail || response.statusText;
});
