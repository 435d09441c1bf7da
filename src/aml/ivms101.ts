// Travel-rule data in the interVASP IVMS101 data model: originator (the payer, known only by address),
// beneficiary (the merchant), and the gateway as the beneficiary's VASP. The transfer itself rides
// beside the IVMS101 message, as travel-rule protocols carry it.

export interface Ivms101Input {
  readonly originatorAddresses: readonly string[];
  readonly merchant: { readonly name: string; readonly bin?: string | null | undefined };
  readonly merchantAccount?: string | undefined;
  readonly vasp: { readonly name: string; readonly bin?: string | undefined; readonly country: string };
  readonly transfer: {
    readonly network: string;
    readonly asset?: string | undefined;
    readonly txid?: string | undefined;
    readonly amount?: string | undefined;
    readonly amountKzt: string;
    readonly at: string;
  };
}

const legalPerson = (name: string, bin: string | null | undefined, country: string) => ({
  legalPerson: {
    name: { nameIdentifier: [{ legalPersonName: name, legalPersonNameIdentifierType: 'LEGL' }] },
    ...(bin
      ? {
          nationalIdentification: {
            nationalIdentifier: bin,
            // Kazakhstan's BIN is also the tax number.
            nationalIdentifierType: 'TXID',
            countryOfIssue: country,
          },
        }
      : {}),
    countryOfRegistration: country,
  },
});

export function buildIvms101(input: Ivms101Input) {
  return {
    ivms101: {
      originator: {
        // The payer is known only by address; a VASP that sends travel-rule data fills this in.
        originatorPersons: [
          {
            naturalPerson: {
              name: { nameIdentifier: [{ primaryIdentifier: 'UNKNOWN', nameIdentifierType: 'MISC' }] },
            },
          },
        ],
        accountNumber: [...input.originatorAddresses],
      },
      beneficiary: {
        beneficiaryPersons: [legalPerson(input.merchant.name, input.merchant.bin, 'KZ')],
        accountNumber: input.merchantAccount ? [input.merchantAccount] : [],
      },
      beneficiaryVASP: {
        beneficiaryVASP: legalPerson(input.vasp.name, input.vasp.bin, input.vasp.country),
      },
      payloadMetadata: { transliterationMethod: [] as string[] },
    },
    transfer: input.transfer,
  };
}
export type Ivms101Document = ReturnType<typeof buildIvms101>;
