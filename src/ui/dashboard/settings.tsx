// Merchant settings: payment policy, enabled options, watch-only account keys (checked by showing the
// first address they derive, before anything is saved) and the EVM payout address (EIP-55 checksum).
import type { NetworkId } from '../../chains/networks';
import type { Merchant } from '../../merchants/repository';
import { NETWORK_NAMES } from '../checkout/chains';
import { CsrfField, DashPage, ErrorBox, type FormErrors, Notice, type SessionView } from './layout';

export interface KeyPreview {
  readonly network: NetworkId;
  readonly keyText: string;
  readonly scriptType: string;
  readonly firstAddress: string;
}

const SPEEDS: readonly [string, string][] = [
  ['high', 'high: no confirmation (UTXO without RBF only; EVM needs 1)'],
  ['medium', 'medium: 1 confirmation'],
  ['low-medium', 'low-medium: 2 confirmations'],
  ['low', 'low: 6 confirmations'],
];

function bpToPercent(bp: number): string {
  const whole = Math.trunc(bp / 100);
  const frac = String(bp % 100)
    .padStart(2, '0')
    .replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : String(whole);
}

export function SettingsPage(props: {
  session: SessionView;
  merchant: Merchant;
  /** Every option of this gateway's mode, ticked when the merchant has it enabled. */
  allOptions: readonly string[];
  utxoNetworks: readonly NetworkId[];
  preview?: KeyPreview | undefined;
  notice?: string | undefined;
  error?: FormErrors | undefined;
}) {
  const m = props.merchant;
  const enabled = new Set(m.enabledOptions);
  return (
    <DashPage title="Settings" session={props.session} active="settings">
      <h1>Settings</h1>
      <Notice text={props.notice} />
      <ErrorBox error={props.error} />

      <h2>Payments</h2>
      <form method="post" action="/dashboard/settings" class="stack" id="policy">
        <CsrfField token={props.session.csrf} />
        <label>
          Confirmations before an invoice is settled
          <select name="speedPolicy">
            {SPEEDS.map(([v, label]) => (
              <option value={v} selected={m.speedPolicy === v}>
                {label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Payment tolerance (%) <span class="help">underpayment accepted as full, e.g. 0.5</span>
          <input
            name="tolerance"
            inputmode="decimal"
            value={bpToPercent(m.paymentToleranceBp)}
            maxlength={6}
          />
        </label>
        <label>
          Invoices expire after (minutes)
          <input name="expiry" type="number" min={1} max={43200} value={String(m.invoiceExpiryMinutes)} />
        </label>
        <label>
          Late payments are watched for (minutes after expiry)
          <input
            name="monitoring"
            type="number"
            min={0}
            max={43200}
            value={String(m.monitoringWindowMinutes)}
          />
        </label>
        <fieldset>
          <legend>Payment options offered by default</legend>
          <div class="checks">
            {props.allOptions.map((o) => (
              <label>
                <input type="checkbox" name="options" value={o} checked={enabled.has(o)} /> {o}
              </label>
            ))}
          </div>
        </fieldset>
        <button type="submit">Save payment settings</button>
      </form>

      <h2>Bitcoin and Litecoin account keys</h2>
      <p class="small muted">
        Watch-only keys (xpub, zpub, tpub, vpub or an output descriptor): the gateway derives a fresh address
        per invoice and never holds a private key. Compare the first address with your wallet before saving.
      </p>
      <div class="table-wrap">
        <table id="account-keys">
          <thead>
            <tr>
              <th>Network</th>
              <th>Key</th>
              <th>First address</th>
            </tr>
          </thead>
          <tbody>
            {props.utxoNetworks.map((n) => {
              const k = m.keys.find((x) => x.network === n);
              return (
                <tr data-network={n}>
                  <td>{NETWORK_NAMES[n]}</td>
                  <td class="mono small">{k ? `${k.keyText.slice(0, 16)}…${k.keyText.slice(-8)}` : '–'}</td>
                  <td class="mono small">{k?.firstAddress ?? '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {props.preview ? (
        <form method="post" action="/dashboard/settings/keys" class="stack card" id="key-confirm">
          <CsrfField token={props.session.csrf} />
          <input type="hidden" name="network" value={props.preview.network} />
          <input type="hidden" name="key" value={props.preview.keyText} />
          <input type="hidden" name="confirm" value="yes" />
          <p>
            This {props.preview.scriptType} key for {NETWORK_NAMES[props.preview.network]} derives as its
            first address:
          </p>
          <p>
            <code id="first-address">{props.preview.firstAddress}</code>
          </p>
          <p class="small">Does your wallet show the same first receiving address? Only then save it.</p>
          <button type="submit">Yes, save this key</button>
        </form>
      ) : null}
      <form method="post" action="/dashboard/settings/keys" class="stack" id="key-form">
        <CsrfField token={props.session.csrf} />
        <label>
          Network
          <select name="network">
            {props.utxoNetworks.map((n) => (
              <option value={n} selected={props.preview?.network === n}>
                {NETWORK_NAMES[n]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Account key
          <textarea name="key" rows={3} required spellcheck={false} autocomplete="off" />
        </label>
        <button type="submit" class="secondary">
          Check the key
        </button>
      </form>

      <h2>EVM payout address</h2>
      <form method="post" action="/dashboard/settings/payout" class="stack" id="payout">
        <CsrfField token={props.session.csrf} />
        <label>
          Address that receives ETH, USDC and USDT{' '}
          <span class="help">0x and 40 hex digits; mixed case must be a valid EIP-55 checksum</span>
          <input
            name="address"
            class="mono"
            value={m.evmPayoutAddress ?? ''}
            maxlength={42}
            spellcheck={false}
            autocomplete="off"
          />
        </label>
        <button type="submit">Save payout address</button>
      </form>
    </DashPage>
  );
}
