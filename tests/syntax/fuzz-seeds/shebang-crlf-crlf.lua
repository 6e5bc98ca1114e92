#

	await await await await Cs