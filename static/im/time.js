// Dates and clock times in the page's locale (locale.js).
import { gettext } from './i18n.js';
import { locale } from './locale.js';

const timeFmt = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' });
const weekdayFmt = new Intl.DateTimeFormat(locale, { weekday: 'short' });
const dateFmt = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'short' });
const fullDateFmt = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', year: 'numeric' });
const dayHeadFmt = new Intl.DateTimeFormat(locale, { weekday: 'long', day: 'numeric', month: 'long' });
const fullFmt = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });

export function parseTime(iso) {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

function startOfDay(d) {
  return new Date(d.getFullYear(), d.getMonth(), d.getDate());
}

/** Local calendar day key, e.g. "2026-11-26". */
export function dayKey(iso) {
  const d = parseTime(iso) ?? new Date();
  const m = String(d.getMonth() + 1).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, '0');
  return `${d.getFullYear()}-${m}-${day}`;
}

export function dayLabel(iso) {
  const d = parseTime(iso) ?? new Date();
  const today = startOfDay(new Date());
  const diffDays = Math.round((today - startOfDay(d)) / 86400000);
  if (diffDays === 0) return gettext('Today');
  if (diffDays === 1) return gettext('Yesterday');
  if (d.getFullYear() === today.getFullYear()) return dayHeadFmt.format(d);
  return fullDateFmt.format(d);
}

export function clockTime(iso) {
  const d = parseTime(iso);
  return d ? timeFmt.format(d) : '';
}

export function fullTime(iso) {
  const d = parseTime(iso);
  return d ? fullFmt.format(d) : '';
}

/** Short time for lists: clock today, weekday this week, else date. */
export function listTime(iso) {
  const d = parseTime(iso);
  if (!d) return '';
  const diffDays = Math.round((startOfDay(new Date()) - startOfDay(d)) / 86400000);
  if (diffDays === 0) return timeFmt.format(d);
  if (diffDays < 7) return weekdayFmt.format(d);
  return dateFmt.format(d);
}
