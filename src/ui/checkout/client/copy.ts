// Copy buttons: the Clipboard API where the page may use it, a selection and execCommand otherwise.
import { announce, byId } from './dom';

export function setupCopyButtons(messages: { copied: string; copyFailed: string }): void {
  for (const btn of Array.from(document.querySelectorAll<HTMLButtonElement>('button[data-copy]'))) {
    btn.setAttribute('data-label', btn.textContent ?? '');
    btn.hidden = false;
    btn.addEventListener('click', () => copyText(btn, messages));
  }
}

function copyText(btn: HTMLButtonElement, M: { copied: string; copyFailed: string }): void {
  const src = byId(btn.getAttribute('data-copy') ?? '');
  const text = src ? (src.getAttribute('data-value') || src.textContent || '').trim() : '';
  const label = btn.getAttribute('data-label') || btn.textContent || '';
  const done = (ok: boolean) => {
    btn.textContent = ok ? M.copied : label;
    announce(ok ? M.copied : M.copyFailed);
    setTimeout(() => {
      btn.textContent = label;
    }, 2000);
  };
  const fallback = () => {
    try {
      const sel = window.getSelection();
      if (!sel || !src) throw new Error('nothing to select');
      sel.removeAllRanges();
      const range = document.createRange();
      range.selectNodeContents(src);
      sel.addRange(range);
      done(document.execCommand('copy'));
    } catch {
      done(false);
    }
  };
  if (navigator.clipboard?.writeText) navigator.clipboard.writeText(text).then(() => done(true), fallback);
  else fallback();
}
