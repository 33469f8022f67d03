// Formatting of sizes, names and message previews: words only, no page state, so the store
// imports it under node's unit tests too (times, which follow the page's locale, are in time.js).
import { gettext } from './i18n.js';

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
  if (!user) return gettext('Unknown user');
  return user.display_name || user.username || gettext('User %(id)s', { id: user.id });
}

export function coords(lat, lng) {
  return `${Number(lat).toFixed(5)}, ${Number(lng).toFixed(5)}`;
}

export function osmUrl(lat, lng) {
  const la = Number(lat);
  const lo = Number(lng);
  return `https://www.openstreetmap.org/?mlat=${la}&mlon=${lo}#map=16/${la}/${lo}`;
}


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
    return name === gettext('You') ? gettext('you') : name;
  };
  const actorName = actor ?? gettext('Someone');
  switch (c.event) {
    case 'group_created':
      return gettext('%(actor)s created the group', { actor: actorName });
    case 'member_added': {
      const names = (c.user_ids ?? []).map(who);
      return names.length
        ? gettext('%(actor)s added %(names)s', { actor: actorName, names: joinNames(names) })
        : gettext('%(actor)s added new members', { actor: actorName });
    }
    case 'member_removed':
      return gettext('%(actor)s removed %(name)s', { actor: actorName, name: who(c.user_id) });
    case 'member_left':
      return gettext('%(name)s left the group', { name: nameOf(c.user_id) });
    case 'role_changed': {
      const params = { actor: actorName, name: who(c.user_id) };
      if (c.role === 'admin') return gettext('%(actor)s made %(name)s an admin', params);
      if (c.role === 'member') return gettext('%(actor)s made %(name)s a member', params);
      return gettext('%(actor)s made %(name)s the owner', params);
    }
    case 'owner_transferred':
      return gettext('%(actor)s made %(name)s the owner', { actor: actorName, name: who(c.user_id) });
    case 'group_updated': {
      const f = c.fields ?? {};
      const parts = [];
      if ('name' in f) parts.push(gettext('renamed the group to “%(name)s”', { name: f.name }));
      if ('announcement' in f) parts.push(f.announcement ? gettext('updated the announcement') : gettext('cleared the announcement'));
      if ('avatar_attachment_id' in f || 'avatar_url' in f) parts.push(gettext('changed the group photo'));
      return gettext('%(actor)s %(changes)s', { actor: actorName, changes: parts.length ? joinNames(parts) : gettext('updated the group') });
    }
    case 'group_dissolved':
      return gettext('%(actor)s dissolved the group', { actor: actor ?? gettext('The owner') });
    case 'call': {
      const video = c.media === 'video';
      switch (c.outcome) {
        case 'completed': return gettext('%(kind)s · %(duration)s', { kind: video ? gettext('Video call') : gettext('Audio call'), duration: duration(c.duration_ms) });
        case 'rejected': return video ? gettext('Video call declined') : gettext('Audio call declined');
        case 'cancelled': return video ? gettext('Video call cancelled') : gettext('Audio call cancelled');
        case 'missed': return video ? gettext('Missed video call') : gettext('Missed audio call');
        default: return video ? gettext('Video call') : gettext('Audio call');
      }
    }
    default:
      return c.event ? gettext('Group event: %(event)s', { event: String(c.event).replaceAll('_', ' ') }) : gettext('System message');
  }
}

function joinNames(names) {
  if (names.length <= 1) return names[0] ?? '';
  return gettext('%(names)s and %(last)s', { names: names.slice(0, -1).join(gettext(', ')), last: names[names.length - 1] });
}

/** One-line preview of a message for the conversation list and search results. */
export function messagePreview(msg, nameOf) {
  if (!msg) return '';
  if (msg.recalled) return gettext('Message recalled');
  const c = msg.content ?? {};
  switch (msg.type) {
    case 'text': return String(c.text ?? '');
    case 'image': return gettext('Photo');
    case 'voice': return c.duration_ms ? gettext('Voice message (%(duration)s)', { duration: duration(c.duration_ms) }) : gettext('Voice message');
    case 'file': return c.name ? gettext('File: %(name)s', { name: c.name }) : gettext('File');
    case 'location': return c.name ? gettext('Location: %(name)s', { name: c.name }) : gettext('Location');
    case 'system': return systemSentence(c, nameOf);
    default: return gettext('Message');
  }
}
