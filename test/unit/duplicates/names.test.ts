import { expect } from 'chai';
import { lookAlikeValues, nameShape, nameSimilarity, normalizeName, prefixTrigrams, requiredOverlap } from '../../../server/src/duplicates/normalize';
import { DEFAULT_THRESHOLD } from '../../../server/src/duplicates/rules';
import { Components } from '../../../server/src/duplicates/groups';

const score = (a: string, b: string) => nameSimilarity(nameShape(a), nameShape(b));

describe('duplicates: name normalisation and similarity', () => {
  it('drops legal forms, quotes, case and «ё» wherever they stand', () => {
    expect(normalizeName('ООО "Ромашка"')).to.equal('ромашка');
    expect(normalizeName('Ромашка ООО')).to.equal('ромашка');
    expect(normalizeName('ООО «Ромашка»')).to.equal('ромашка');
    expect(normalizeName("ооо 'РОМАШКА'")).to.equal('ромашка');
    expect(normalizeName('Общество с ограниченной ответственностью „Ромашка“')).to.equal('ромашка');
    expect(normalizeName('ЗАО «Ёлка»')).to.equal('елка');
    expect(normalizeName('ПАО «Северсталь»')).to.equal('северсталь');
    expect(normalizeName('ИП Иванов Иван Иванович')).to.equal('иванов иван иванович');
    expect(normalizeName('ОАО Газ-Сервис')).to.equal('газ сервис');
    expect(normalizeName('АО «Тандер»')).to.equal('тандер');
  });

  it('keeps «й» and the words that tell names apart', () => {
    expect(normalizeName('ООО «Северный край»')).to.equal('северный край');
    expect(normalizeName('ООО Ромашка-Плюс')).to.equal('ромашка плюс');
  });

  it('ignores invisible characters, accents and Latin look-alikes of Cyrillic letters, and «OOO» typed in Latin', () => {
    expect(score('OOO «Poмaшкa»', 'ООО «Ромашка»'), 'Latin O, P, a inside Cyrillic words').to.equal(1);
    expect(normalizeName('OOO «Poмaшкa»')).to.equal('ромашка');
    expect(normalizeName('OAO KOMETA'), 'a word of look-alikes only').to.equal('комета');
    expect(normalizeName('Ро\u200bма\u00adшка\u2060 ООО\ufeff'), 'zero-width space, soft hyphen, word joiner, BOM').to.equal('ромашка');
    expect(normalizeName('Рома́шка'), 'a stress mark').to.equal('ромашка');
    expect(normalizeName('Ромаш\u0306ка'), 'a stray breve').to.equal('ромашка');
    expect(normalizeName('Cafe\u0301 Ме\u0308д'), 'combining acute and diaeresis').to.equal('cafe мед');
    expect(normalizeName('Чайный домик'), '«й» stays').to.equal('чайный домик');
    expect(normalizeName('И\u0306ошкар-Ола'), '«й» typed as и + breve').to.equal('йошкар ола');
    expect(normalizeName('Romashka LLC'), 'a Latin name stays Latin').to.equal('romashka');
    expect(normalizeName('ZAO Romashka')).to.equal('romashka');
    expect(score('ООО «Ромашка»', 'Romashka'), 'transliteration is not a look-alike').to.equal(0);
  });

  it('scores a name with Latin letters mixed into its Cyrillic words — mirror images and near shapes too («N» for «И») — as the same name', () => {
    const latinised = (text: string) =>
      text.replace(/а/g, 'a').replace(/е/g, 'e').replace(/о/g, 'o').replace(/р/g, 'p').replace(/с/g, 'c').replace(/х/g, 'x').replace(/С/g, 'C').replace(/И/g, 'N');
    expect(latinised('Северсталь Инжиниринг')).to.equal('Ceвepcтaль Nнжиниpинг');
    expect(score(latinised('Северсталь Инжиниринг'), 'Северсталь Инжиниринг')).to.equal(1);
    expect(score(latinised('ООО «Ромашка Холдинг»'), 'ООО «Ромашка Холдинг»')).to.equal(1);
    expect(score('ООО «Бyмaжный Rд»', 'ООО «Бумажный Яд»'), 'R for Я').to.equal(1);
    expect(score('Cтpoйkомплекс', 'Стройкомплекс'), 'k for к').to.equal(1);
    expect(score('Пуnкт Сбоpа', 'Пункт Сбора'), 'n for н is not a look-alike').to.be.below(1);
    expect(normalizeName('Nord Stream'), 'a Latin word keeps its letters').to.equal('nord stream');
    const marked = lookAlikeValues(['Nнжиниринг', 'Инжиниринг'], 'ru').map(({ parts }) => parts.map((part) => (part.hint ? `[${part.hint}]` : part.text)).join(''));
    expect(marked).to.deep.equal(['[латинская N]нжиниринг', '[кириллическая И]нжиниринг']);
  });

  it('reads a name written backwards behind a right-to-left override as it is shown', () => {
    const reversed = (text: string) => [...text].reverse().join('');
    expect(normalizeName('\u202E' + reversed('Северсталь Инжиниринг'))).to.equal(normalizeName('Северсталь Инжиниринг'));
    expect(normalizeName('ООО \u202E' + reversed('«Северсталь»') + '\u202C Инжиниринг')).to.equal(normalizeName('ООО «Северсталь» Инжиниринг'));
    expect(normalizeName('\u202E' + 'Северсталь')).not.to.equal(normalizeName('Северсталь'));
  });

  it('reads a zero typed for «О» in a legal form as the letter, and keeps real numbers', () => {
    expect(normalizeName('0OO «Лютик»')).to.equal('лютик');
    expect(score('О0О «Лютик»', 'ООО «Лютик»')).to.equal(1);
    expect(normalizeName('ООО «СМУ-10»'), 'a number with a zero stays a number').to.equal('сму 10');
    expect(normalizeName('Склад 0'), 'a lone zero stays a number').to.equal('склад 0');
  });

  it('normalises a normalised name to itself (stored names are compared again)', () => {
    const names = ['OOO «Poмaшкa»', 'Rex', 'REX', 'ЗАО «Ёлка»', 'Bank', 'BAH', 'Cafe\u0301', 'ООО', 'И\u0306ошкар-Ола', 'Tom & Co', 'ОАО Газ-Сервис 12', 'ｒｏｍａｓｈｋａ'];
    for (const name of names) expect(normalizeName(normalizeName(name)), name).to.equal(normalizeName(name));
  });

  it('keeps a name that is nothing but a legal form', () => {
    expect(normalizeName('ООО')).to.equal('ооо');
  });

  it('scores «ООО "Ромашка"» and «Ромашка ООО» as the same name, «ООО Ромашка-Плюс» as similar but below the default threshold', () => {
    expect(score('ООО "Ромашка"', 'Ромашка ООО')).to.equal(1);
    const plus = score('ООО "Ромашка"', 'ООО Ромашка-Плюс');
    expect(plus).to.be.closeTo(8 / 13, 1e-9);
    expect(plus).to.be.below(DEFAULT_THRESHOLD);
    expect(plus).to.be.above(0.5);
    expect(score('Ромашка ООО', 'ООО Ромашка-Плюс')).to.equal(plus);
  });

  it('finds a typo alike, an unrelated name not', () => {
    expect(score('ООО «Кассиопея»', 'Касиопея, ООО')).to.be.at.least(DEFAULT_THRESHOLD);
    expect(score('ООО «Кассиопея»', 'ООО «Андромеда»')).to.be.below(0.2);
    expect(score('Гончаренко Татьяна', 'Татьяна Гончаренко')).to.equal(1);
  });

  it('never finds names with different numbers alike', () => {
    expect(score('ООО «СМУ-5»', 'ООО «СМУ-7»')).to.equal(0);
    expect(score('ООО «Альфа-12345»', 'Альфа-12345 ООО')).to.equal(1);
    expect(score('ООО «Альфа-12345»', 'ООО «Альфа-12346»')).to.equal(0);
  });

  it('blocks by the rarest trigrams: two names that reach the threshold always share one of their prefixes', () => {
    const frequency = (trigram: string) => trigram.charCodeAt(1);
    const names = ['Кассиопея', 'Касиопея', 'Кассиопия', 'Ромашка', 'Ромашка плюс', 'Северный край', 'Северный крайний', 'Тандер'];
    for (const a of names) {
      for (const b of names) {
        const [x, y] = [nameShape(a), nameShape(b)];
        if (nameSimilarity(x, y) < DEFAULT_THRESHOLD) continue;
        const shared = prefixTrigrams(x, DEFAULT_THRESHOLD, frequency).filter((trigram) => prefixTrigrams(y, DEFAULT_THRESHOLD, frequency).includes(trigram));
        expect(shared.length, `${a} / ${b}`).to.be.above(0);
      }
    }
    expect(requiredOverlap(10, 0.7)).to.equal(7);
  });

  it('names the characters that tell apart values differing only by look-alike letters or invisible characters', () => {
    const marked = (values: string[], locale: 'ru' | 'en' = 'ru') =>
      lookAlikeValues(values, locale).map(({ value, parts }) => [value, parts.map((part) => (part.hint ? `[${part.hint}]` : part.text)).join('')]);
    expect(marked(['OOO Ромашкa', 'ООО Ромашка', 'ООО Ромашка-Плюс'])).to.deep.equal([
      ['OOO Ромашкa', '[латинская O][латинская O][латинская O] Ромашк[латинская a]'],
      ['ООО Ромашка', '[кириллическая О][кириллическая О][кириллическая О] Ромашк[кириллическая а]'],
    ]);
    expect(marked(['Ромашка', 'Ро\u200bмашка'])).to.deep.equal([['Ро\u200bмашка', 'Ро[невидимый символ U+200B]машка']]);
    expect(lookAlikeValues(['Ро\u200bмашка', 'Ромашка'], 'ru')[0].parts[1]).to.deep.equal({ text: '\u200b', hint: 'невидимый символ U+200B', invisible: true });
    expect(marked(['0OO «Ромашка»', 'ООО «Ромашка»'], 'en')[0]).to.deep.equal(['0OO «Ромашка»', '[digit 0][Latin O][Latin O] «Ромашка»']);
    expect(marked(['ООО\u00a0Ромашка', 'ООО Ромашка'])[0]).to.deep.equal(['ООО\u00a0Ромашка', 'ООО[особый пробел U+00A0]Ромашка']);
    expect(marked(['ООО Ромашка', 'ооо ромашка', 'Romashka', 'ООО Ромашка'])).to.deep.equal([]);
  });

  it('joins pairs into groups (connected components)', () => {
    const components = new Components();
    components.union('a', 'b');
    components.union('c', 'd');
    components.union('b', 'c');
    components.union('x', 'y');
    const groups = components.groups().map((group) => group.sort().join(''));
    expect(groups.sort()).to.deep.equal(['abcd', 'xy']);
  });
});
