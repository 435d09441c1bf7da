// GET /v1/rates: the tenge rates the gateway prices invoices with, and where each came from.
import { createRoute, z } from '@hono/zod-openapi';
import { isAssetId } from '../chains/networks';
import { newApi } from '../http/api';
import { merchantAuth } from '../http/auth';
import type { MerchantEnv } from '../http/env';
import { problemResponses } from '../http/openapi';
import { ValidationError } from '../lib/errors';
import { decimalToString } from '../lib/money';

const DEFAULT_ASSETS = 'BTC,LTC,ETH,USDC,USDT';

export function rateRoutes() {
  const app = newApi<MerchantEnv>();
  app.use('/v1/rates', merchantAuth());

  app.openapi(
    createRoute({
      method: 'get',
      path: '/v1/rates',
      operationId: 'getRates',
      tags: ['Rates'],
      summary: 'Current tenge rates with their sources',
      security: [{ bearer: [] }],
      request: {
        query: z.object({ assets: z.string().max(200).optional().openapi({ example: 'BTC,ETH,USDC' }) }),
      },
      responses: {
        200: {
          description: 'Rates',
          content: {
            'application/json': {
              schema: z.object({
                data: z.array(
                  z.object({
                    asset: z.string(),
                    kztPerUnit: z.string(),
                    at: z.string(),
                    chain: z.array(z.string()),
                    sources: z.array(
                      z.object({ name: z.string(), pair: z.string(), value: z.string(), at: z.string() }),
                    ),
                  }),
                ),
              }),
            },
          },
        },
        ...problemResponses(422, 503),
      },
    }),
    async (c) => {
      const { assets = DEFAULT_ASSETS } = c.req.valid('query');
      const list = [
        ...new Set(
          assets
            .split(',')
            .map((s) => s.trim().toUpperCase())
            .filter(Boolean),
        ),
      ];
      const known = list.filter(isAssetId);
      const bad = list.filter((a) => !isAssetId(a));
      if (bad.length || list.length === 0) {
        throw new ValidationError('unknown asset', [
          { path: 'assets', message: `unknown asset(s): ${bad.join(', ') || '(none given)'}` },
        ]);
      }
      const rates = await c.get('services').rates.getRates(known);
      return c.json(
        {
          data: [...rates.values()].map((r) => ({
            asset: r.asset,
            kztPerUnit: decimalToString(r.kztPerUnit),
            at: new Date(r.atMs).toISOString(),
            chain: r.chain,
            sources: r.sources.map((s) => ({
              name: s.name,
              pair: s.pair,
              value: s.value,
              at: new Date(s.atMs).toISOString(),
            })),
          })),
        },
        200,
      );
    },
  );
  return app;
}
