// Settings the server hands the page as JSON data blocks (Django's json_script: data, not code,
// so the Content-Security-Policy needs no inline script).
export function pageConfig(id, fallback) {
  try {
    const block = document.getElementById(id);
    return block ? JSON.parse(block.textContent) : fallback;
  } catch {
    return fallback;
  }
}
