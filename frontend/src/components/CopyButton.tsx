import { useState } from 'react';

/** Copies text to the clipboard; says so for a moment. Falls back to a hidden textarea where the
 * Clipboard API is unavailable (plain-HTTP dashboards on a LAN address are not a secure context). */
export function CopyButton({ text, label = 'copy' }: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    let ok = false;
    try {
      await navigator.clipboard.writeText(text);
      ok = true;
    } catch {
      ok = fallbackCopy(text);
    }
    setState(ok ? 'copied' : 'failed');
    setTimeout(() => setState('idle'), 1500);
  };
  return (
    <button type="button" className="toggle copy-button" onClick={() => void copy()} data-testid="copy-code">
      {state === 'copied' ? 'copied' : state === 'failed' ? 'select + ⌘C' : label}
    </button>
  );
}

function fallbackCopy(text: string): boolean {
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.style.position = 'fixed';
  area.style.opacity = '0';
  document.body.appendChild(area);
  area.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  area.remove();
  return ok;
}
