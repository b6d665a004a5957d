import type { CardTypeDefinition } from '../kernel/definition';
import { commercialProposal } from './commercial-proposal';
import { contactPerson } from './contact-person';
import { contract } from './contract';
import { counterparty } from './counterparty';

/** The card types that ship with Kartoteka; administrators extend them and add their own. */
export const builtInCardTypes: readonly CardTypeDefinition[] = [counterparty, contactPerson, commercialProposal, contract];
