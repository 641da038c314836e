// Makes a long drug list searchable: a search box above each <select data-picker> filters its
// options by what the server put in data-search (the names and their pinyin: typing "aldp"
// finds 苯磺酸氨氯地平片) and picks the first match, and the dose box's unit follows the drug.
// Without script the plain list still works, as every form here does.
(() => {
  const norm = (s) => s.toLowerCase().replace(/\s+/g, '');

  function showUnit(select) {
    const target = document.getElementById(select.dataset.unitFor || '');
    const option = select.selectedOptions[0];
    if (target) target.textContent = option ? option.dataset.unit || '' : '';
  }

  function attach(select) {
    const box = document.createElement('input');
    box.type = 'search';
    box.className = 'picker';
    box.id = select.id + '_search';
    box.placeholder = select.dataset.picker;
    box.setAttribute('aria-label', select.dataset.picker);
    box.setAttribute('aria-controls', select.id);
    box.autocomplete = 'off';
    const none = document.createElement('span');
    none.className = 'field-error';
    none.hidden = true;
    none.textContent = select.dataset.pickerNone || '';
    select.before(box, none);

    box.addEventListener('input', () => {
      const q = norm(box.value);
      let first = null;
      for (const option of select.options) {
        if (!option.value) continue;
        const match = !q || norm(option.dataset.search || option.text).includes(q);
        option.hidden = !match;
        if (match && !first) first = option;
      }
      none.hidden = !q || first !== null;
      const current = select.selectedOptions[0];
      if (q && first && (!current || current.hidden || !current.value)) {
        select.value = first.value;
        showUnit(select);
      }
    });
    // Enter in the search box chooses, it does not send the form half-written.
    box.addEventListener('keydown', (event) => {
      if (event.key === 'Enter') {
        event.preventDefault();
        select.focus();
      }
    });
    select.addEventListener('change', () => showUnit(select));
  }

  document.addEventListener('DOMContentLoaded', () => {
    document.querySelectorAll('select[data-picker]').forEach(attach);
  });
})();
