// Small DOM helpers of the page script.

export const byId = <T extends HTMLElement = HTMLElement>(id: string): T | null =>
  document.getElementById(id) as T | null;

/** Says `text` through the polite live region (cleared first, so a repeat is read again). */
export function announce(text: string): void {
  const n = byId('live-note');
  if (!n) return;
  n.textContent = '';
  n.textContent = text;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
