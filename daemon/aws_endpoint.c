/* aws_endpoint: placeholder until written */
