// The dashboard's payment settings: speed policy, tolerance, expiry and options; the UTXO account
// keys (previewed before saved); the EVM payout address.
import { getAddress } from 'ethers';
import { isNetworkId, NETWORKS, type NetworkId, networksForMode, parseOption } from '../chains/networks';
import type { Config } from '../config';
import { newApi } from '../http/api';
import type { SpeedPolicy } from '../invoices/repository';
import type { FieldError } from '../lib/errors';
import { expiryRangeMessage } from '../lib/expiry';
import { MoneyFormatError, percentToBasisPoints } from '../lib/money';
import {
  checkMerchantKeys,
  getMerchant,
  setMerchantKey,
  updateMerchantSettings,
} from '../merchants/repository';
import { SettingsPage } from '../ui/dashboard/settings';
import { field, fields } from './forms';
import {
  actorOf,
  type C,
  checkedForm,
  type DashboardEnv,
  formError,
  noticeOf,
  refused,
  sessionOf,
} from './pages';

/** Payment options of this gateway's mode: every asset on every network it runs. */
export function modeOptions(config: Config): string[] {
  return networksForMode(config.NETWORK_MODE).flatMap((n) => n.assets.map((a) => `${a}@${n.id}`));
}

const utxoNetworks = (config: Config): NetworkId[] =>
  networksForMode(config.NETWORK_MODE)
    .filter((n) => n.family === 'utxo')
    .map((n) => n.id);

export function settingsPages(config: Config) {
  const app = newApi<DashboardEnv>();

  const settingsPage = async (
    c: C,
    extra: Omit<
      Parameters<typeof SettingsPage>[0],
      'session' | 'merchant' | 'allOptions' | 'utxoNetworks'
    > = {},
  ) => {
    const s = sessionOf(c);
    const merchant = await getMerchant(c.get('services').sql, s.merchantId);
    if (!merchant) return refused(c, 'The merchant no longer exists.', 404);
    if (extra.error) c.status(422);
    return c.html(
      <SettingsPage
        session={s}
        merchant={merchant}
        allOptions={[...new Set([...modeOptions(config), ...merchant.enabledOptions])]}
        utxoNetworks={utxoNetworks(config)}
        notice={noticeOf(c)}
        {...extra}
      />,
    );
  };

  app.get('/dashboard/settings', (c) => settingsPage(c));

  app.post('/dashboard/settings', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const errors: FieldError[] = [];
    const speed = field(form, 'speedPolicy', 20);
    if (!['high', 'medium', 'low-medium', 'low'].includes(speed)) {
      errors.push({ path: 'speedPolicy', message: 'choose one of the listed policies' });
    }
    let toleranceBp = 0;
    try {
      toleranceBp = percentToBasisPoints(field(form, 'tolerance', 10).trim().replace(',', '.') || '0');
    } catch (err) {
      if (!(err instanceof MoneyFormatError)) throw err;
      errors.push({ path: 'tolerance', message: 'a percentage from 0 to 100 with at most 2 decimals' });
    }
    const whole = (
      name: string,
      min: number,
      max: number,
      message = `a whole number from ${min} to ${max}`,
    ) => {
      const v = field(form, name, 10).trim();
      const n = /^[0-9]{1,6}$/.test(v) ? Number(v) : Number.NaN;
      if (!(n >= min && n <= max)) errors.push({ path: name, message });
      return n;
    };
    const maxExpiry = config.INVOICE_EXPIRY_MAX_MINUTES;
    const expiry = whole('expiry', 1, maxExpiry, expiryRangeMessage(maxExpiry));
    const monitoring = whole('monitoring', 0, 43_200);
    const options = fields(form, 'options');
    for (const o of options)
      if (!parseOption(o)) errors.push({ path: 'options', message: `unknown option ${o}` });
    if (errors.length)
      return settingsPage(c, { error: { message: 'The settings were not saved.', fields: errors } });
    await updateMerchantSettings(
      c.get('services').sql,
      sessionOf(c).merchantId,
      {
        speedPolicy: speed as SpeedPolicy,
        paymentToleranceBp: toleranceBp,
        invoiceExpiryMinutes: expiry,
        monitoringWindowMinutes: monitoring,
        enabledOptions: options,
      },
      actorOf(c),
      { maxExpiryMinutes: maxExpiry },
    );
    return c.redirect('/dashboard/settings?done=saved', 303);
  });

  app.post('/dashboard/settings/keys', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const network = field(form, 'network', 40);
    const key = field(form, 'key', 4000).trim();
    if (!isNetworkId(network) || !utxoNetworks(config).includes(network)) {
      return settingsPage(c, { error: { message: 'Choose one of the listed networks.' } });
    }
    try {
      if (field(form, 'confirm', 5) !== 'yes') {
        const [preview] = checkMerchantKeys({ [network]: key });
        return settingsPage(c, { preview: preview! });
      }
      const services = c.get('services');
      const s = sessionOf(c);
      await setMerchantKey(services.sql, s.merchantId, network, key, actorOf(c));
      const m = await getMerchant(services.sql, s.merchantId);
      const option = `${NETWORKS[network].nativeAsset}@${network}`;
      if (m && !m.enabledOptions.includes(option)) {
        await updateMerchantSettings(
          services.sql,
          s.merchantId,
          { enabledOptions: [...m.enabledOptions, option] },
          actorOf(c),
        );
      }
      return c.redirect('/dashboard/settings?done=key', 303);
    } catch (err) {
      const e = formError(err);
      if (!e) throw err;
      return settingsPage(c, { error: e });
    }
  });

  app.post('/dashboard/settings/payout', async (c) => {
    const form = await checkedForm(c);
    if (form instanceof Response) return form;
    const text = field(form, 'address', 100).trim();
    let address: string | null = null;
    if (text) {
      const problem = !/^0x[0-9a-fA-F]{40}$/.test(text)
        ? 'expected 0x and 40 hex digits'
        : (() => {
            try {
              address = getAddress(text);
              return undefined;
            } catch {
              return (
                'the upper and lower case letters do not match the EIP-55 checksum: ' +
                'check every character'
              );
            }
          })();
      if (problem) {
        return settingsPage(c, {
          error: {
            message: 'The payout address was not saved.',
            fields: [{ path: 'address', message: problem }],
          },
        });
      }
    }
    await updateMerchantSettings(
      c.get('services').sql,
      sessionOf(c).merchantId,
      { evmPayoutAddress: address },
      actorOf(c),
    );
    return c.redirect('/dashboard/settings?done=payout', 303);
  });
  return app;
}
