// LangGraph's own checkpointer conformance suite (@langchain/langgraph-checkpoint-validation,
// 718 tests) against ConvstoreSaver and a real convstore. Each createCheckpointer gets a fresh
// org, hence an empty store: the suite reuses thread ids ("thread-1", "1") across checkpointers.
import { validate } from '@langchain/langgraph-checkpoint-validation';
import { inject } from 'vitest';
import { ConvstoreSaver } from '../src/index.js';
import { createOrg } from './server.js';

const url = inject('convstoreUrl');

validate({
  checkpointerName: 'ConvstoreSaver',
  async createCheckpointer() {
    const { api_key } = await createOrg();
    return new ConvstoreSaver({ url, apiKey: api_key });
  },
});
