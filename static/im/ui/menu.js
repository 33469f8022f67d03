// A small accessible menu button: Enter/Space/ArrowDown open, arrows move,
// Escape closes and returns focus. items: [{label, onSelect, danger?}] built lazily.
import { icon } from './icons.js';
import { h, uid } from '../dom.js';

let openMenu = null;

function closeOpenMenu(returnFocus = false) {
  if (!openMenu) return;
  const { menu, button } = openMenu;
  menu.hidden = true;
  button.setAttribute('aria-expanded', 'false');
  openMenu = null;
  if (returnFocus) button.focus();
}

document.addEventListener('click', (e) => {
  if (openMenu && !openMenu.wrap.contains(e.target)) closeOpenMenu(false);
});

/** Options: `iconName` (the button's icon), `menuClass` (e.g. a grid of emoji). */
export function menuButton({ label, className = '', items, iconName = 'more', menuClass = '' }) {
  const menuId = uid('menu');
  const button = h('button', {
    type: 'button',
    class: `icon-button menu-button ${className}`,
    'aria-label': label,
    'aria-haspopup': 'menu',
    'aria-expanded': 'false',
    'aria-controls': menuId,
  }, icon(iconName));
  const menu = h('div', { class: `menu ${menuClass}`, role: 'menu', id: menuId, 'aria-label': label, hidden: true });
  const wrap = h('div', { class: 'menu-wrap' }, button, menu);

  const focusItem = (index) => {
    const all = [...menu.querySelectorAll('[role="menuitem"]')];
    if (!all.length) return;
    all[(index + all.length) % all.length].focus();
  };

  const open = (focusIndex = 0) => {
    closeOpenMenu(false);
    const list = typeof items === 'function' ? items() : items;
    menu.replaceChildren(...list.filter(Boolean).map((item) => h('button', {
      type: 'button',
      role: 'menuitem',
      class: `menu-item${item.danger ? ' danger' : ''}`,
      tabindex: '-1',
      onclick: (e) => {
        e.stopPropagation();
        closeOpenMenu(true);
        item.onSelect();
      },
    }, item.label)));
    menu.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    openMenu = { menu, button, wrap };
    focusItem(focusIndex);
  };

  button.addEventListener('click', (e) => {
    e.stopPropagation();
    if (menu.hidden) open(0);
    else closeOpenMenu(true);
  });
  button.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown') { e.preventDefault(); open(0); }
    if (e.key === 'ArrowUp') { e.preventDefault(); open(-1); }
  });
  menu.addEventListener('keydown', (e) => {
    const all = [...menu.querySelectorAll('[role="menuitem"]')];
    const index = all.indexOf(document.activeElement);
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') { e.preventDefault(); focusItem(index + 1); }
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') { e.preventDefault(); focusItem(index - 1); }
    else if (e.key === 'Home') { e.preventDefault(); focusItem(0); }
    else if (e.key === 'End') { e.preventDefault(); focusItem(-1); }
    else if (e.key === 'Escape') { e.preventDefault(); closeOpenMenu(true); }
    else if (e.key === 'Tab') closeOpenMenu(false);
  });
  return wrap;
}
