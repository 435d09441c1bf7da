import { describe, expect, it } from 'vitest';
import { buildFm1Xml, encodeUtf16Bom, type Fm1Input, fm1Value } from '../../src/aml/fm1';
import { buildIvms101 } from '../../src/aml/ivms101';
import { decodeUtf16Bom, parseXml } from './xml';

const ROOT = 'ExportData/SignedData/Data/Root';

function input(over: Partial<Fm1Input> = {}): Fm1Input {
  return {
    reporter: {
      senderCode: 'ALATAUPAY',
      name: 'Alatau Pay LLP',
      bin: '123456789012',
      officer: { surname: 'Sadykova', givenName: 'Aigerim', email: 'a.sadykova@afm.test' },
    },
    documentType: 1,
    messageNumber: 'rep_01',
    // 2025-03-07 (Friday) 23:30 in Almaty (UTC+5).
    createdAt: new Date('2025-03-07T18:30:00Z'),
    transactionAt: new Date('2025-03-07T18:05:09Z'),
    operationNumber: 'pay_01jd8x3q4m5n6p7r8s9t0v1w2x',
    currencyCode: '398',
    amountCurrencyTiyn: 600_000_000n,
    amountTengeTiyn: 600_000_000n,
    operationStatus: 3,
    reasonFilingId: '2',
    suspicion: ['STRUCTURING'],
    descriptionDifficulties: "3 payments <each> under the threshold & one 'odd' one",
    moreInformation: 'Digital asset operation on bitcoin',
    participants: [
      { memberId: 1, view: '1', type: 2, isClientSubject: false, accountNumber: 'bc1qpayer' },
      {
        memberId: 2,
        view: '2',
        type: 1,
        isClientSubject: true,
        residence: 'kz',
        accountNumber: 'bc1qshop',
        iinBin: '987654321098',
        name: 'Café <Alatau> & Sons',
      },
    ],
    ...over,
  };
}

describe('FM-1 XML', () => {
  it('is UTF-16LE with a BOM, well-formed, with the envelope and the required fields', () => {
    const bytes = encodeUtf16Bom(buildFm1Xml(input()));
    expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
    const text = decodeUtf16Bom(bytes);
    const xml = parseXml(text);
    expect(xml.declaration).toBe('1.0 UTF-16');
    for (const p of [
      'ExportData/SignedData/Sender',
      'ExportData/SignedData/Receiver',
      'ExportData/SignedData/TieStamp',
      'ExportData/SignedData/Signature',
      'ExportData/TransportType',
      `${ROOT}/Version`,
      `${ROOT}/DocumentUniqueIdentifier`,
      `${ROOT}/PersonalData/IINBIN`,
      `${ROOT}/MessageInformation/ReasonFilingId`,
      `${ROOT}/MessageInformation/SuspicionFirst`,
      `${ROOT}/Participants/Participant/CorrespondentBank/AccountNumber`,
    ]) {
      expect(xml.paths.has(p), p).toBe(true);
    }
    const t = (p: string) => xml.texts.get(p);
    expect(t('ExportData/SignedData/Sender')).toEqual(['ALATAUPAY']);
    expect(t('ExportData/SignedData/Receiver')).toEqual(['AFM']);
    expect(t('ExportData/SignedData/TieStamp')).toEqual(['07.03.2025 23:30:00']);
    expect(t(`${ROOT}/Version`)![0]).toMatch(/^[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}$/);
    expect(t(`${ROOT}/DocumentUniqueIdentifier`)![0]).toMatch(/^[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}$/);
    expect(t(`${ROOT}/PersonalData/FirstName`)).toEqual(['Sadykova']);
    expect(t(`${ROOT}/PersonalData/SecondName`)).toEqual(['Aigerim']);
    expect(t(`${ROOT}/MessageInformation/LastModifyDate`)).toEqual(['07.03.2025']);
    expect(t(`${ROOT}/MessageInformation/TransactionDate`)).toEqual(['07.03.2025 23:05:09']);
    expect(t(`${ROOT}/MessageInformation/AmountCurrency`)).toEqual(['6000000.00']);
    expect(t(`${ROOT}/MessageInformation/AmountCurrencyTenge`)).toEqual(['6000000.00']);
    expect(t(`${ROOT}/MessageInformation/OperationStatusId`)).toEqual(['3']);
    expect(t(`${ROOT}/MessageInformation/ParticipantCount`)).toEqual(['2']);
    expect(t(`${ROOT}/Participants/Participant/MemberId`)).toEqual(['1', '2']);
    expect(t(`${ROOT}/Participants/Participant/Residence`)).toEqual(['KZ']);
  });

  it("keeps & < > ' out of every data value", () => {
    const text = buildFm1Xml(input());
    const values = [...text.matchAll(/>([^<]*)</g)].map((m) => m[1]!);
    for (const v of values) expect(v).not.toMatch(/[&<>']/);
    expect(text).not.toContain('&');
    expect(text).not.toContain("'");
    const xml = parseXml(text);
    expect(xml.texts.get(`${ROOT}/Participants/Participant/AdditionalPersonInfo/OrganisationName`)).toEqual([
      'Café Alatau and Sons',
    ]);
    expect(fm1Value("a & b <c> 'd'")).toBe('a and b c `d`');
    expect(fm1Value('x'.repeat(2000)).length).toBe(1000);
  });

  it('requires SuspicionFirst for a suspicious operation and a valid sender code', () => {
    expect(() => buildFm1Xml(input({ suspicion: [] }))).toThrow(/SuspicionFirst/);
    expect(() => buildFm1Xml(input({ reporter: { ...input().reporter, senderCode: 'alatau-pay' } }))).toThrow(
      /Sender/,
    );
    expect(() => buildFm1Xml(input({ reasonFilingId: '1', suspicion: [] }))).not.toThrow();
  });

  it('encodes characters outside Latin-1 (Kazakh and Russian text) as UTF-16', () => {
    const text = buildFm1Xml(input({ moreInformation: 'Қазақстан — Казахстан' }));
    const parsed = parseXml(decodeUtf16Bom(encodeUtf16Bom(text)));
    expect(parsed.texts.get(`${ROOT}/MessageInformation/MoreInformation`)).toEqual(['Қазақстан — Казахстан']);
  });
});

describe('IVMS101', () => {
  it('names the beneficiary with its BIN, the payer by address and the gateway as VASP', () => {
    const doc = buildIvms101({
      originatorAddresses: ['bc1qpayer'],
      merchant: { name: 'Shop', bin: '987654321098' },
      merchantAccount: 'bc1qshop',
      vasp: { name: 'Alatau Pay', bin: '123456789012', country: 'KZ' },
      transfer: { network: 'bitcoin', asset: 'BTC', txid: 'ab', amount: '0.1', amountKzt: '100.00', at: 'x' },
    });
    expect(doc.ivms101.originator.accountNumber).toEqual(['bc1qpayer']);
    expect(doc.ivms101.beneficiary.beneficiaryPersons[0]!.legalPerson).toMatchObject({
      name: { nameIdentifier: [{ legalPersonName: 'Shop', legalPersonNameIdentifierType: 'LEGL' }] },
      nationalIdentification: { nationalIdentifier: '987654321098', countryOfIssue: 'KZ' },
      countryOfRegistration: 'KZ',
    });
    expect(
      doc.ivms101.beneficiaryVASP.beneficiaryVASP.legalPerson.name.nameIdentifier[0]!.legalPersonName,
    ).toBe('Alatau Pay');
  });
});
