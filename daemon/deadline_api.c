/* deadline_api: placeholder until written */
