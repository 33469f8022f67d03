// The location dialog: use navigator.geolocation or enter coordinates by hand.
import { h } from '../dom.js';
import { openDialog } from './dialogs.js';
import { gettext } from '../i18n.js';

/** Resolves {lat, lng, name?} or null when cancelled. */
export function openLocationDialog() {
  return new Promise((resolve) => {
    let result = null;
    const lat = h('input', { id: 'loc-lat', type: 'number', step: 'any', min: '-90', max: '90', required: true, inputmode: 'decimal' });
    const lng = h('input', { id: 'loc-lng', type: 'number', step: 'any', min: '-180', max: '180', required: true, inputmode: 'decimal' });
    const name = h('input', { id: 'loc-name', type: 'text', maxlength: '200' });
    const status = h('p', { class: 'status-text', role: 'status' });
    const useMine = h('button', { type: 'button' }, gettext('Use my current location'));
    const form = h('form', { class: 'location-form' },
      useMine, status,
      h('div', { class: 'field' }, h('label', { for: 'loc-lat' }, gettext('Latitude')), lat),
      h('div', { class: 'field' }, h('label', { for: 'loc-lng' }, gettext('Longitude')), lng),
      h('div', { class: 'field' }, h('label', { for: 'loc-name' }, gettext('Place name (optional)')), name),
      h('div', { class: 'dialog-actions' }, h('button', { type: 'submit', class: 'primary' }, gettext('Send location'))));
    const { close } = openDialog(gettext('Share location'), form, { className: 'location-dialog', onClose: () => resolve(result) });

    useMine.addEventListener('click', () => {
      if (!navigator.geolocation) {
        status.textContent = gettext('Location is not available in this browser; enter coordinates by hand.');
        return;
      }
      status.textContent = gettext('Finding your location…');
      navigator.geolocation.getCurrentPosition((pos) => {
        lat.value = pos.coords.latitude.toFixed(6);
        lng.value = pos.coords.longitude.toFixed(6);
        status.textContent = gettext('Location found.');
      }, (err) => {
        status.textContent = gettext('Could not get your location (%(error)s); enter coordinates by hand.', { error: err.message || gettext('permission denied') });
      }, { enableHighAccuracy: true, timeout: 10000 });
    });

    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const la = Number(lat.value);
      const lo = Number(lng.value);
      if (lat.value === '' || !Number.isFinite(la) || la < -90 || la > 90) {
        status.textContent = gettext('Latitude must be a number from -90 to 90.');
        lat.focus();
        return;
      }
      if (lng.value === '' || !Number.isFinite(lo) || lo < -180 || lo > 180) {
        status.textContent = gettext('Longitude must be a number from -180 to 180.');
        lng.focus();
        return;
      }
      result = { lat: la, lng: lo };
      if (name.value.trim()) result.name = name.value.trim();
      close();
    });
  });
}
