// Modal dialogs built on <dialog>: a confirm prompt and a generic form dialog.
import { icon } from './icons.js';
import { h, uid } from '../dom.js';
import { gettext } from '../i18n.js';

/** Resolves true when the user presses "Confirm". */
export function confirmDialog(message, { title = gettext('Are you sure?'), confirmLabel = gettext('Confirm') } = {}) {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const confirmBtn = h('button', { type: 'button', class: 'danger' }, confirmLabel);
    const cancelBtn = h('button', { type: 'button' }, gettext('Cancel'));
    const dialog = h('dialog', { class: 'dialog confirm-dialog', 'aria-labelledby': titleId },
      h('h2', { id: titleId, text: title }),
      h('p', { text: message }),
      h('div', { class: 'dialog-actions' }, cancelBtn, confirmBtn));
    let result = false;
    confirmBtn.addEventListener('click', () => { result = true; dialog.close(); });
    cancelBtn.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancelBtn.focus();
  });
}

/**
 * A modal with a title, body nodes and a close button. Returns {dialog, close}.
 * The dialog is removed from the DOM when closed.
 */
export function openDialog(title, body, { className = '', onClose } = {}) {
  const titleId = uid('dlg');
  const closeBtn = h('button', { type: 'button', class: 'icon-button dialog-close', 'aria-label': gettext('Close') }, icon('close'));
  const dialog = h('dialog', { class: `dialog ${className}`, 'aria-labelledby': titleId },
    h('div', { class: 'dialog-head' }, h('h2', { id: titleId, text: title }), closeBtn),
    body);
  closeBtn.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    onClose?.();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, close: () => dialog.close() };
}
