docker images --format '{{.ID}}|{{.Repository}}|{{.Tag}}|{{.Digest}}|{{.CreatedSince}}|{{.CreatedAt}}|{{.Size}}|{{.SharedSize}}|{{.UniqueSize}}|{{.VirtualSize}}|{{.Containers}}'
