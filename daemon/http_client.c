/* http_client: placeholder until written */
