// Paying from an EIP-1193 browser wallet. No ethers here: the gateway's intents endpoint builds the
// transaction, the wallet only signs and sends it.
import { fill } from '../../i18n/format';
import type { WalletOption } from '../page';
import type { ClientMessages } from './data';
import { byId, sleep } from './dom';

interface Eip1193 {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
}

type WalletWords = ClientMessages['wallet'];
type Kind = 'payerRefused' | 'notPayable' | 'unavailable' | 'failed' | 'noAccount';

class WalletError extends Error {
  constructor(
    readonly kind: Kind,
    message?: string,
  ) {
    super(message ?? kind);
  }
}

interface Intent {
  to: string;
  data: string;
  value: string;
  approval?: { needed?: boolean; to: string; data: string };
  permit?: {
    domain: Record<string, unknown>;
    types: Record<string, unknown>;
    primaryType: string;
    message: { deadline: string; value: string };
  };
}

interface Tx {
  from: string;
  to: string;
  data: string;
  value: string;
}

/** The code of a wallet error, wherever the wallet put it. */
function errCode(e: unknown): unknown {
  if (!e || typeof e !== 'object') return undefined;
  const o = e as { code?: unknown; data?: { code?: unknown }; error?: { code?: unknown } };
  if (o.code !== undefined) return o.code;
  if (o.data?.code !== undefined) return o.data.code;
  if (o.error?.code !== undefined) return o.error.code;
  return undefined;
}

function showWallet(text: string, isError: boolean): void {
  const el = byId('wallet-msg');
  if (!el) return;
  el.hidden = false;
  el.textContent = text;
  el.className = `wallet-msg${isError ? ' error' : ''}`;
  el.setAttribute('data-state', isError ? 'error' : 'progress');
}

const hex = (n: number | string | bigint) => `0x${BigInt(n).toString(16)}`;

/** eth_signTypedData_v4 wants the EIP712Domain type spelled out; the intent leaves it implicit. */
function withDomainType(td: NonNullable<Intent['permit']>) {
  const d = td.domain;
  const fields: { name: string; type: string }[] = [];
  if (d.name != null) fields.push({ name: 'name', type: 'string' });
  if (d.version != null) fields.push({ name: 'version', type: 'string' });
  if (d.chainId != null) fields.push({ name: 'chainId', type: 'uint256' });
  if (d.verifyingContract != null) fields.push({ name: 'verifyingContract', type: 'address' });
  if (d.salt != null) fields.push({ name: 'salt', type: 'bytes32' });
  return {
    domain: d,
    types: { EIP712Domain: fields, ...td.types },
    primaryType: td.primaryType,
    message: td.message,
  };
}

async function postIntent(invoiceId: string, body: unknown): Promise<Intent> {
  const r = await fetch(`/v1/checkout/${encodeURIComponent(invoiceId)}/intents`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(body),
  });
  let j: (Intent & { code?: string; detail?: string; title?: string }) | null = null;
  try {
    j = await r.json();
  } catch {
    j = null;
  }
  if (r.ok && j) return j;
  if (r.status === 403 && j?.code === 'payer_rejected') throw new WalletError('payerRefused');
  if (r.status === 409 && j?.code === 'invoice_not_payable') throw new WalletError('notPayable');
  if (r.status === 503) throw new WalletError('unavailable');
  throw new WalletError('failed', j?.detail || j?.title || `HTTP ${r.status}`);
}

async function payWithWallet(eth: Eip1193, invoiceId: string, opt: WalletOption, W: WalletWords) {
  const rpc = (method: string, params: unknown[] = []) => eth.request({ method, params });
  const waitReceipt = async (hash: unknown) => {
    for (let i = 0; i < 300; i++) {
      const rc = (await rpc('eth_getTransactionReceipt', [hash])) as { status?: string } | null;
      if (rc) {
        if (rc.status === '0x0') throw new WalletError('failed', 'the approval transaction failed');
        return rc;
      }
      await sleep(1000);
    }
    throw new WalletError('failed', 'the approval was not confirmed in time');
  };
  showWallet(W.connecting, false);
  const accounts = (await rpc('eth_requestAccounts')) as string[] | null;
  const payer = accounts?.[0];
  if (!payer) throw new WalletError('noAccount');
  const want = hex(opt.chainId);
  const current = (await rpc('eth_chainId')) as string;
  if (BigInt(current) !== BigInt(opt.chainId)) {
    showWallet(fill(W.switching, { network: opt.networkName }), false);
    try {
      await rpc('wallet_switchEthereumChain', [{ chainId: want }]);
    } catch (e) {
      // 4902: the wallet does not know the chain yet.
      if (errCode(e) !== 4902 || !opt.addChain) throw e;
      await rpc('wallet_addEthereumChain', [opt.addChain]);
      if (BigInt((await rpc('eth_chainId')) as string) !== BigInt(opt.chainId)) {
        await rpc('wallet_switchEthereumChain', [{ chainId: want }]);
      }
    }
  }
  showWallet(W.preparing, false);
  const intent = await postIntent(invoiceId, { option: opt.option, payer });
  let tx: Tx | null = null;
  if (opt.native) {
    tx = { from: payer, to: intent.to, data: intent.data, value: hex(intent.value) };
  } else if (intent.approval && intent.approval.needed === false) {
    tx = { from: payer, to: intent.to, data: intent.data, value: '0x0' };
  } else if (intent.permit && opt.permit) {
    showWallet(fill(W.signPermit, { asset: opt.asset }), false);
    let signature: unknown = null;
    try {
      signature = await rpc('eth_signTypedData_v4', [payer, JSON.stringify(withDomainType(intent.permit))]);
    } catch (e) {
      // Refused by the person: stop. Not supported by the wallet: approve instead.
      if (errCode(e) === 4001) throw e;
      signature = null;
    }
    if (signature) {
      showWallet(W.preparing, false);
      const withPermit = await postIntent(invoiceId, {
        option: opt.option,
        payer,
        permit: {
          deadline: intent.permit.message.deadline,
          signature,
          value: intent.permit.message.value,
        },
      });
      tx = { from: payer, to: withPermit.to, data: withPermit.data, value: '0x0' };
    }
  }
  if (!tx) {
    if (!intent.approval) throw new WalletError('unavailable');
    showWallet(fill(W.approve, { asset: opt.asset }), false);
    const approveHash = await rpc('eth_sendTransaction', [
      { from: payer, to: intent.approval.to, data: intent.approval.data, value: '0x0' },
    ]);
    showWallet(W.waitApproval, false);
    await waitReceipt(approveHash);
    tx = { from: payer, to: intent.to, data: intent.data, value: '0x0' };
  }
  showWallet(W.confirm, false);
  const hash = await rpc('eth_sendTransaction', [tx]);
  showWallet(W.sent, false);
  const txEl = byId('wallet-tx');
  if (txEl) {
    txEl.textContent = String(hash);
    txEl.hidden = false;
  }
}

function walletFailure(e: unknown, W: WalletWords): void {
  if (e instanceof WalletError) {
    showWallet(e.kind === 'failed' ? fill(W.failed, { message: e.message }) : W[e.kind], true);
    return;
  }
  const c = errCode(e);
  if (c === 4001 || c === 'ACTION_REJECTED') {
    showWallet(W.refused, true);
    return;
  }
  showWallet(fill(W.failed, { message: (e as Error | null)?.message || String(e) }), true);
}

/** Shows the wallet button once a provider is there; `refresh` asks the gateway for news after sending. */
export function setupWallet(
  invoiceId: string,
  opt: WalletOption | null,
  W: WalletWords,
  refresh: () => void,
): void {
  const attach = () => {
    const btn = byId<HTMLButtonElement>('wallet-pay');
    const eth = (window as unknown as { ethereum?: Partial<Eip1193> }).ethereum;
    if (!btn || !opt?.wallet || !eth || typeof eth.request !== 'function') return;
    if (btn.getAttribute('data-ready')) return;
    btn.setAttribute('data-ready', '1');
    btn.hidden = false;
    const or = byId('wallet-or');
    if (or) or.hidden = false;
    btn.addEventListener('click', () => {
      btn.disabled = true;
      payWithWallet(eth as Eip1193, invoiceId, opt, W)
        .then(refresh)
        .catch((e: unknown) => walletFailure(e, W))
        .then(() => {
          btn.disabled = false;
        });
    });
  };
  attach();
  // Some wallets inject their provider after the page has loaded.
  window.addEventListener('ethereum#initialized', attach, { once: true });
}
