// Uploads a report: the file is the request's body, the form's other fields its query, so the
// server needs no multipart parser. What was wrong comes back in the page's language.
(() => {
  const form = document.getElementById('upload-form');
  if (!form) return;
  const error = document.getElementById('upload-error');
  const submit = document.getElementById('upload-submit');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = form.file.files && form.file.files[0];
    if (!file) return;
    const query = new URLSearchParams();
    for (const name of ['person_id', 'kind', 'title', 'performed_on', 'hospital_name']) {
      query.set(name, form[name].value);
    }
    submit.disabled = true;
    error.hidden = true;
    try {
      const response = await fetch(`/care/reports/upload?${query}`, {
        method: 'POST',
        body: file,
        headers: { 'x-csrf-token': form.dataset.csrf, 'content-type': file.type || 'application/octet-stream' },
        credentials: 'same-origin',
      });
      const answer = await response.json().catch(() => ({}));
      if (response.ok && answer.location) {
        location.href = answer.location;
        return;
      }
      error.textContent = answer.message || response.statusText;
      error.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });
})();
