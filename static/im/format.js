// Formatting of times, sizes, names and message previews.

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const weekdayFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short' });
const dateFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const fullDateFmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'long', year: 'numeric' });
const dayHeadFmt = new Intl.DateTimeFormat(undefined, { weekday: 'long', day: 'numeric', month: 'long' });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

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
  if (diffDays === 0) return 'Today';
  if (diffDays === 1) return 'Yesterday';
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

export function fileSize(bytes) {
  const n = Number(bytes);
  if (!Number.isFinite(n) || n < 0) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function duration(ms) {
  const total = Math.max(0, Math.round(Number(ms) / 1000) || 0);
  const m = Math.floor(total / 60);
  const s = String(total % 60).padStart(2, '0');
  return `${m}:${s}`;
}

export function initials(name) {
  const words = String(name ?? '').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '?';
  const chars = words.length === 1 ? [...words[0]].slice(0, 2) : [[...words[0]][0], [...words[words.length - 1]][0]];
  return chars.join('').toUpperCase();
}

/**
 * A stable hue for an avatar background. FNV-1a then a murmur3 finaliser: ids that differ only
 * in their last digit (1, 2, 3...) must land far apart on the colour wheel, not one degree apart.
 */
export function hueFor(key) {
  let hash = 0x811c9dc5;
  for (const ch of String(key)) hash = Math.imul(hash ^ ch.codePointAt(0), 0x01000193);
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  return ((hash ^ (hash >>> 16)) >>> 0) % 360;
}

export function displayName(user) {
  if (!user) return 'Unknown user';
  return user.display_name || user.username || `User ${user.id}`;
}

export function coords(lat, lng) {
  return `${Number(lat).toFixed(5)}, ${Number(lng).toFixed(5)}`;
}

export function osmUrl(lat, lng) {
  const la = Number(lat);
  const lo = Number(lng);
  return `https://www.openstreetmap.org/?mlat=${la}&mlon=${lo}#map=16/${la}/${lo}`;
}

const ROLE_NAMES = { owner: 'owner', admin: 'an admin', member: 'a member' };

/**
 * A readable sentence for a system message. `nameOf(id)` resolves user ids
 * (returns "You" for the current user).
 */
export function systemSentence(content, nameOf) {
  const c = content ?? {};
  const actor = c.actor_id != null ? nameOf(c.actor_id) : null;
  // Mid-sentence, the current user is "you".
  const who = (id) => {
    const name = nameOf(id);
    return name === 'You' ? 'you' : name;
  };
  switch (c.event) {
    case 'group_created':
      return `${actor ?? 'Someone'} created the group`;
    case 'member_added': {
      const names = (c.user_ids ?? []).map(who);
      return `${actor ?? 'Someone'} added ${joinNames(names) || 'new members'}`;
    }
    case 'member_removed':
      return `${actor ?? 'Someone'} removed ${who(c.user_id)}`;
    case 'member_left':
      return `${nameOf(c.user_id)} left the group`;
    case 'role_changed':
      return `${actor ?? 'Someone'} made ${who(c.user_id)} ${ROLE_NAMES[c.role] ?? c.role}`;
    case 'owner_transferred':
      return `${actor ?? 'Someone'} made ${who(c.user_id)} the owner`;
    case 'group_updated': {
      const f = c.fields ?? {};
      const parts = [];
      if ('name' in f) parts.push(`renamed the group to “${f.name}”`);
      if ('announcement' in f) parts.push(f.announcement ? 'updated the announcement' : 'cleared the announcement');
      if ('avatar_attachment_id' in f || 'avatar_url' in f) parts.push('changed the group photo');
      return `${actor ?? 'Someone'} ${parts.length ? joinNames(parts) : 'updated the group'}`;
    }
    case 'group_dissolved':
      return `${actor ?? 'The owner'} dissolved the group`;
    case 'call': {
      const kind = c.media === 'video' ? 'Video call' : 'Audio call';
      switch (c.outcome) {
        case 'completed': return `${kind} · ${duration(c.duration_ms)}`;
        case 'rejected': return `${kind} declined`;
        case 'cancelled': return `${kind} cancelled`;
        case 'missed': return `Missed ${kind.toLowerCase()}`;
        default: return kind;
      }
    }
    default:
      return c.event ? `Group event: ${String(c.event).replaceAll('_', ' ')}` : 'System message';
  }
}

function joinNames(names) {
  if (names.length <= 1) return names[0] ?? '';
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** One-line preview of a message for the conversation list and search results. */
export function messagePreview(msg, nameOf) {
  if (!msg) return '';
  if (msg.recalled) return 'Message recalled';
  const c = msg.content ?? {};
  switch (msg.type) {
    case 'text': return String(c.text ?? '');
    case 'image': return 'Photo';
    case 'voice': return c.duration_ms ? `Voice message (${duration(c.duration_ms)})` : 'Voice message';
    case 'file': return c.name ? `File: ${c.name}` : 'File';
    case 'location': return c.name ? `Location: ${c.name}` : 'Location';
    case 'system': return systemSentence(c, nameOf);
    default: return 'Message';
  }
}
