// The printable recovery sheet: the key's fingerprint, the key as text and as a QR code,
// the targets (endpoint, bucket, prefix — never a secret) and the commands that bring
// the backups back on a new machine. The key is only known to the dashboard right after
// it was generated, or when the user pastes it again (checked against the fingerprint).
import QRCode from 'qrcode';
import { useEffect, useState } from 'react';
import { createPortal } from 'react-dom';
import { api } from '../api/client';
import type { Target } from '../api/types';
import { Button } from './ui';

export function recoveryCommands(targets: Target[]): string[] {
  const t = targets[0];
  const add = !t
    ? 'stacksnap target add s3 NAME --endpoint URL --bucket BUCKET --access-key KEY --secret-key-file FILE'
    : t.kind === 'local'
      ? `stacksnap target add local ${t.name} --path ${t.config.path ?? 'DIR'}`
      : `stacksnap target add s3 ${t.name}${t.config.endpoint ? ` --endpoint ${t.config.endpoint}` : ''} --bucket ${t.config.bucket ?? 'BUCKET'}${t.config.prefix ? ` --prefix ${t.config.prefix}` : ''}${t.config.region ? ` --region ${t.config.region}` : ''} --access-key ${t.config.access_key || 'KEY'} --secret-key-file FILE`;
  return ['stacksnap key import recovery-key.txt', add, 'stacksnap backups && stacksnap restore ID'];
}

export function RecoverySheet({ keyHex, fingerprint, onClose }: { keyHex: string; fingerprint: string; onClose: () => void }) {
  const [qr, setQr] = useState<string | null>(null);
  const [targets, setTargets] = useState<Target[]>([]);
  useEffect(() => {
    QRCode.toDataURL(keyHex, { errorCorrectionLevel: 'M', margin: 1, width: 220 }).then(setQr, () => setQr(null));
    api.get<{ targets: Target[] }>('/api/targets').then((r) => setTargets(r.targets), () => {});
  }, [keyHex]);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);

  return createPortal(
    <div className="recovery-sheet fixed inset-0 z-50 overflow-y-auto bg-white text-slate-900" role="dialog" aria-modal="true" aria-labelledby="rs-title" data-testid="recovery-sheet">
      <div className="mx-auto max-w-2xl space-y-5 p-6 print:p-0">
        <div className="flex flex-wrap items-center justify-between gap-2 print:hidden">
          <Button variant="primary" onClick={() => window.print()} autoFocus>
            Print
          </Button>
          <Button onClick={onClose}>Close</Button>
        </div>
        <h1 id="rs-title" className="text-2xl font-semibold">StackSnap recovery sheet</h1>
        <p className="text-sm">
          Server {window.location.host} · printed {new Date().toLocaleString()}. Whoever holds this sheet can decrypt every backup: keep it locked away, off this host.
        </p>
        <section className="grid gap-4 sm:grid-cols-[auto,1fr]">
          {qr ? <img src={qr} alt="QR code of the recovery key" width={220} height={220} className="border border-slate-300" data-testid="recovery-qr" /> : <div className="h-[220px] w-[220px] border border-slate-300" />}
          <div className="space-y-2">
            <p className="text-xs uppercase tracking-wide text-slate-500">Key fingerprint</p>
            <p className="font-mono text-lg" data-testid="recovery-fingerprint">{fingerprint}</p>
            <p className="text-xs uppercase tracking-wide text-slate-500">Recovery key (64 hex digits)</p>
            <p className="break-words font-mono text-base leading-relaxed" data-testid="recovery-key-text">{keyHex.match(/.{1,8}/g)?.join(' ')}</p>
          </div>
        </section>
        <section>
          <h2 className="text-lg font-semibold">Storage</h2>
          {targets.length === 0 ? (
            <p className="text-sm">No target configured yet.</p>
          ) : (
            <table className="mt-1 w-full text-left text-sm">
              <thead>
                <tr className="text-xs text-slate-500"><th className="pr-3">Name</th><th className="pr-3">Where</th><th>Prefix</th></tr>
              </thead>
              <tbody>
                {targets.map((t) => (
                  <tr key={t.name}>
                    <td className="pr-3 font-medium">{t.name}</td>
                    <td className="break-all pr-3 font-mono text-xs">{t.kind === 'local' ? t.config.path : `${t.config.endpoint || 'AWS S3'} · bucket ${t.config.bucket}${t.config.region ? ` · ${t.config.region}` : ''}`}</td>
                    <td className="font-mono text-xs">{t.config.prefix || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          <p className="mt-1 text-xs text-slate-500">Secret keys are not printed: keep them in your password manager.</p>
        </section>
        <section>
          <h2 className="text-lg font-semibold">On a new machine</h2>
          <p className="text-sm">Dashboard: set up StackSnap, choose “Import a recovery key”, add the storage with its secret, then “Restore” each project listed as “Not on this host”. Or on the command line:</p>
          <ol className="mt-2 list-decimal space-y-1 pl-5 font-mono text-xs">
            {recoveryCommands(targets).map((c) => (
              <li key={c} className="break-all">{c}</li>
            ))}
          </ol>
        </section>
      </div>
    </div>,
    document.body,
  );
}
