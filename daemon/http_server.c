/* http_server: placeholder until written */
