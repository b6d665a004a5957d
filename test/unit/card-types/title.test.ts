import { expect } from 'chai';
import { renderTitle, templateFields } from '../../../card-types';
import { builtInCardTypes } from '../../../card-types/built-in';
import { label, typeWith } from './fixtures';

describe('card titles', () => {
  const [counterparty, contactPerson, proposal] = builtInCardTypes;
  if (!counterparty || !contactPerson || !proposal) throw new Error('built-in types missing');

  it('names the fields of a template', () => {
    expect(templateFields('{number} от {date}')).to.deep.equal(['number', 'date']);
  });

  it('renders a counterparty by its name and a contact by the full name', () => {
    expect(renderTitle(counterparty, { name: 'ООО «Кассиопея»', inn: '7707083893' })).to.equal('ООО «Кассиопея»');
    expect(renderTitle(contactPerson, { fullName: 'Гончаренко Татьяна' })).to.equal('Гончаренко Татьяна');
  });

  it('formats dates as dd.mm.yyyy in Russian and ISO in English', () => {
    expect(renderTitle(proposal, { number: 'КП-15', date: '2024-03-01' })).to.equal('КП-15 от 01.03.2024');
    expect(renderTitle(proposal, { number: 'КП-15', date: '2024-03-01' }, 'en')).to.equal('КП-15 от 2024-03-01');
  });

  it('leaves missing values out and tidies the spaces', () => {
    expect(renderTitle(proposal, { date: '2024-03-01' })).to.equal('от 01.03.2024');
    expect(renderTitle(proposal, { number: 'КП-15' })).to.equal('КП-15 от');
  });

  it('falls back to the type name when no field of the template has a value', () => {
    expect(renderTitle(proposal, {})).to.equal('Коммерческое предложение');
    expect(renderTitle(proposal, {}, 'en')).to.equal('Commercial proposal');
  });

  it('shows choices by their labels, money grouped, yes/no and tags readable', () => {
    const type = typeWith(
      {
        key: 'status',
        kind: 'enum',
        label,
        options: [{ value: 'sent', label: { ru: 'Отправлено', en: 'Sent' } }],
      },
      { key: 'amount', kind: 'money', label },
      { key: 'paid', kind: 'boolean', label },
      { key: 'tags', kind: 'tags', label },
      { key: 'at', kind: 'datetime', label },
    );
    const values = { status: 'sent', amount: '1234567.50', paid: true, tags: ['VIP', 'опт'], at: '2024-03-01T21:30:00.000Z' };
    const withTemplate = (titleTemplate: string) => ({ ...type, titleTemplate });
    expect(renderTitle(withTemplate('{status}: {amount} ₽, оплачено: {paid} ({tags})'), values)).to.equal('Отправлено: 1\u00a0234\u00a0567,50 ₽, оплачено: Да (VIP, опт)');
    expect(renderTitle(withTemplate('{status} {amount}'), values, 'en')).to.equal('Sent 1,234,567.50');
    expect(renderTitle(withTemplate('{at}'), values)).to.equal('01.03.2024 21:30');
    expect(renderTitle(withTemplate('{at}'), values, 'ru', 'Europe/Moscow')).to.equal('02.03.2024 00:30');
  });
});
