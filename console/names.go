package console

import "strconv"

// typeNames are the long names of resource types (TS-0004 Table 6.3.4.2.1-1),
// shown in the tree and the forms. Announced types (10000 + ty) are named
// after their original with "Annc".
var typeNames = map[int]string{
	1: "accessControlPolicy", 2: "AE", 3: "container", 4: "contentInstance", 5: "CSEBase", 6: "delivery",
	7: "eventConfig", 8: "execInstance", 9: "group", 10: "locationPolicy", 11: "m2mServiceSubscriptionProfile",
	12: "mgmtCmd", 13: "mgmtObj", 14: "node", 15: "pollingChannel", 16: "remoteCSE", 17: "request",
	18: "schedule", 19: "serviceSubscribedAppRule", 20: "serviceSubscribedNode", 21: "statsCollect",
	22: "statsConfig", 23: "subscription", 24: "semanticDescriptor", 25: "notificationTargetMgmtPolicyRef",
	26: "notificationTargetPolicy", 27: "policyDeletionRules", 28: "flexContainer", 29: "timeSeries",
	30: "timeSeriesInstance", 31: "role", 32: "token", 33: "trafficPattern", 34: "dynamicAuthorizationConsultation",
	37: "authorizationDecision", 38: "authorizationPolicy", 39: "authorizationInformation", 40: "ontologyRepository",
	41: "ontology", 42: "semanticMashupJobProfile", 43: "semanticMashupInstance", 44: "semanticMashupResult",
	45: "multimediaSession", 46: "semanticRuleRepository", 47: "reasoningRules", 48: "crossResourceSubscription",
	49: "backgroundDataTransfer", 50: "transactionMgmt", 51: "transaction", 52: "triggerRequest", 53: "stateMachine",
	54: "state", 55: "softwareCampaign", 56: "primitiveProfile", 57: "localMultimediaSession", 58: "action",
	59: "dependency", 60: "AEContactList", 61: "AEContactListPerCSE", 62: "sessionPolicy",
}

// TypeName returns the long name of resource type ty.
func TypeName(ty int) string {
	if n, ok := typeNames[ty]; ok {
		return n
	}
	if ty > 10000 {
		if n, ok := typeNames[ty-10000]; ok {
			return n + "Annc"
		}
	}
	return "type " + strconv.Itoa(ty)
}

// attrNames are the long names of attributes by short name (TS-0004 Table
// 8.2.3-1 to -5), shown next to the short names in tables and forms.
var attrNames = map[string]string{
	// universal and common
	"rn": "resourceName", "ty": "resourceType", "ri": "resourceID", "pi": "parentID", "ct": "creationTime",
	"lt": "lastModifiedTime", "et": "expirationTime", "lbl": "labels", "acpi": "accessControlPolicyIDs",
	"at": "announceTo", "aa": "announcedAttribute", "ast": "announceSyncType", "daci": "dynamicAuthorizationConsultationIDs",
	"cr": "creator", "st": "stateTag", "lnk": "link", "cstn": "custodian", "hld": "holder", "acr": "accessControlRules",
	// CSEBase, remoteCSE
	"cst": "cseType", "csi": "CSE-ID", "srt": "supportedResourceType", "poa": "pointOfAccess", "nl": "nodeLink",
	"srv": "supportedReleaseVersions", "csz": "contentSerialization", "esi": "e2eSecInfo", "cb": "CSEBase",
	"rr": "requestReachability", "mei": "M2M-Ext-ID", "tri": "Trigger-Recipient-ID", "trn": "triggerReferenceNumber",
	"dcse": "descendantCSEs", "egid": "externalGroupID", "mtcc": "m2mTrafficConstraintCSEs", "ape": "activityPatternElements",
	"tren": "triggerEnable", "ncp": "notificationCongestionPolicy",
	// AE
	"apn": "appName", "api": "App-ID", "aei": "AE-ID", "or": "ontologyRef", "regs": "registrationStatus",
	"trps": "trackRegistrationPoints", "scp": "sessionCapabilities",
	// container, contentInstance
	"mni": "maxNrOfInstances", "mbs": "maxByteSize", "mia": "maxInstanceAge", "cni": "currentNrOfInstances",
	"cbs": "currentByteSize", "li": "locationID", "disr": "disableRetrieval", "cnf": "contentInfo", "cs": "contentSize",
	"conr": "contentRef", "con": "content", "dgt": "dataGenerationTime", "snr": "sequenceNr",
	// accessControlPolicy
	"pv": "privileges", "pvs": "selfPrivileges", "adri": "applicableDynamicRoleIDs", "apri": "applicablePrivileges",
	"airi": "authorizationInformationResourceIDs",
	// subscription
	"enc": "eventNotificationCriteria", "exc": "expirationCounter", "nu": "notificationURI", "gpi": "groupID",
	"nfu": "notificationForwardingURI", "bn": "batchNotify", "rl": "rateLimit", "psn": "preSubscriptionNotify",
	"pn": "pendingNotification", "nsp": "notificationStoragePriority", "ln": "latestNotify",
	"nct": "notificationContentType", "nec": "notificationEventCat", "su": "subscriberURI",
	"acrs": "associatedCrossResourceSub", "nse": "notificationStatsEnable", "nsi": "notificationStatsInfo",
	// group
	"mt": "memberType", "cnm": "currentNrOfMembers", "mnm": "maxNrOfMembers", "mid": "memberIDs",
	"macp": "membersAccessControlPolicyIDs", "mtv": "memberTypeValidated", "csy": "consistencyStrategy",
	"gn": "groupName", "ssi": "semanticSupportIndicator", "nar": "notifyAggregation", "fopt": "fanOutPoint",
	"spty": "specializationType",
	// flexContainer, timeSeries, pollingChannel, request
	"cnd": "containerDefinition", "nods": "nodes", "pei": "periodicInterval", "mdd": "missingDataDetect",
	"mdn": "missingDataMaxNr", "mdlt": "missingDataList", "mdc": "missingDataCurrentNr", "mdt": "missingDataDetectTimer",
	"peid": "periodicIntervalDelta", "cmdcf": "ContentMismatchDataFlag", "op": "operation", "tg": "target",
	"og": "originator", "org": "originator", "ors": "operationResult", "rid": "requestID", "mi": "metaInformation", "pc": "primitiveContent", "rs": "requestStatus",
	"ol": "operationResult", "pcuri": "pollingChannelURI",
	// node, mgmtObj
	"ni": "nodeID", "hcl": "hostedCSELink", "mgd": "mgmtDefinition", "obis": "objectIDs", "obps": "objectPaths",
	"dc": "description", "cmlk": "mgmtLink",
	// service subscription resources (mssp, svsn, asar)
	"di": "deviceIdentifier", "rlk": "ruleLinks", "nrq": "niddRequired", "apci": "applicableCredIDs",
	"aai": "allowedApp-IDs", "aae": "allowedAEs", "ari": "allowedRole-IDs",
}

// AttrName returns the long name of the attribute with short name sn (sn
// itself when the console has none).
func AttrName(sn string) string {
	if n, ok := attrNames[sn]; ok {
		return n
	}
	return sn
}
